"""The runs: every trained model Digit Lab keeps, its record, its name, its time, and the active one.

This module is the one owner of a saved run. Whoever trains (the app's workers, the command
line, a fine-tune) hands the model to `RunStore.add`, which names its file, writes it atomically
into `models/runs/` and records a row; nothing else names, dates or places a run's file.

One SQLite database (the standard library's `sqlite3`) holds a row per run — name, creation
time, hyper-parameters and per-epoch history as JSON, test accuracy, seconds, status. One clock:
times are stored in UTC (file names included) and shown in the reader's local time, so runs
saved under different time zones still sort and read correctly. Shipped models (such as
`default.npz`) sit in the models folder itself; `list_models` lists them and the runs for the
app's picker, and the active model is a one-line pointer file beside them, so it survives a
restart. `services.locations` says where all of these are.

Several writers at once are normal (the CLI in a terminal, two browser tabs training): every
operation opens its own connection, writes inside `BEGIN IMMEDIATE` and waits for a busy
database instead of failing, and the database runs in WAL mode so readers never block writers.
A damaged database is reported, never silently replaced: it holds the user's history.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nn.core.config import RunConfig
from nn.core.data import load_mnist
from nn.core.errors import ConfigError, DigitLabError, ModelFileError
from nn.core.network import MLP
from nn.core.persistence import load_model, reason, save_model

from . import locations

RUNS = "runs"  # the models folder's subfolder holding trained runs
ACTIVE_POINTER = "active.txt"
FILE_STAMP = "%Y%m%d-%H%M%S"  # in UTC, like every time this module stores
MAX_UPLOAD_BYTES = 64 * 1024 * 1024  # a 784-2048-2048-10 float64 model is ~46 MB
MAX_NAME_LENGTH = 80
BUSY_TIMEOUT_SECONDS = 30.0
SOURCES = ("cli", "app", "upload", "finetune", "sweep")
SCHEMA_VERSION = 3
JOBS_TABLE = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    task TEXT NOT NULL,
    state TEXT NOT NULL,
    message TEXT,
    run_id INTEGER,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL
);
"""
# A sweep: its grid (base configuration and swept values) and the job of each grid point, in
# order. Its runs say which sweep and point they are in their `details`.
SWEEPS_TABLE = """
CREATE TABLE IF NOT EXISTS sweeps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    place TEXT NOT NULL,
    jobs TEXT NOT NULL
);
"""
SCHEMA = f"""
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created TEXT NOT NULL,
    source TEXT NOT NULL,
    config TEXT,
    history TEXT NOT NULL,
    test_accuracy REAL,
    seconds REAL,
    status TEXT NOT NULL,
    model_file TEXT NOT NULL,
    details TEXT NOT NULL
);
{JOBS_TABLE}
{SWEEPS_TABLE}
PRAGMA user_version = {SCHEMA_VERSION};
COMMIT;
"""
# Each step brings a store of the version before it to the next one.
MIGRATIONS = {
    1: f"BEGIN IMMEDIATE; {JOBS_TABLE} PRAGMA user_version = 2; COMMIT;",
    2: f"BEGIN IMMEDIATE; {SWEEPS_TABLE} PRAGMA user_version = 3; COMMIT;",
}
UNFINISHED = ("waiting", "running")  # job states that a live server is responsible for
SWEEP_COLUMNS = "id, created, name, definition, place, jobs"
COLUMNS = "id, name, created, source, config, history, test_accuracy, seconds, status, model_file, details"


class RunStoreError(DigitLabError):
    """The run store is unreadable, or a run asked for is not in it."""


@dataclass(frozen=True)
class Run:
    """One recorded training run."""

    id: int
    name: str
    created: str  # ISO 8601, UTC
    source: str  # one of SOURCES
    config: RunConfig | None  # None when unknown (an uploaded model that did not say)
    history: list[dict[str, Any]]  # one dict per epoch, as `EpochEnd` fields
    test_accuracy: float | None
    seconds: float | None
    status: str
    model_path: Path
    details: dict[str, Any]  # anything source-specific, e.g. a fine-tune's before/after

    @property
    def architecture(self) -> str:
        return "-".join(map(str, (784, *self.config.model.hidden, 10))) if self.config else "?"


@dataclass(frozen=True)
class SweepRecord:
    """One recorded sweep: what it tried, where it ran, and the job of each of its grid points."""

    id: int
    created: str  # ISO 8601, UTC
    name: str
    definition: dict[str, Any]  # `services.sweeps.Grid.to_dict()`
    place: str  # where its runs went: this machine's pool or a Dask scheduler's address
    job_ids: list[int]  # in the order of the grid's points; empty until they are submitted


class RunStore:
    """The runs recorded in one database (created on first use), their models in `models_dir/runs/`."""

    def __init__(self, path: str | Path | None = None, models_dir: str | Path | None = None):
        self.path = Path(path or locations.runs_db()).resolve()
        self.models_dir = Path(models_dir or locations.models_dir()).resolve()
        self.model_dir = self.models_dir / RUNS
        self._open()

    # -- recording ---------------------------------------------------------------------------

    def add(
        self,
        model: MLP,
        *,
        source: str,
        name: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> Run:
        """Save `model` under a new name in `model_dir`, record it from its record, return the run."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
        record, config = model.record, run_config(model)
        row = {
            "name": _clean_name(name or default_name(model)),
            "created": _timestamp(record.trained_at),
            "source": source,
            "config": json.dumps(config.to_dict()) if config is not None else None,
            "history": json.dumps([asdict(epoch) for epoch in record.history]),
            "test_accuracy": record.test_accuracy,
            "seconds": record.train_seconds,
            "status": record.status or "completed",
            "details": json.dumps(details or {}),
        }
        model_path = save_model(model, self._new_model_path(model))
        row["model_file"] = model_path.name
        try:
            with self._transaction() as db:
                cursor = db.execute(
                    f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                    tuple(row.values()),
                )
                run_id = cursor.lastrowid
        except BaseException:
            model_path.unlink(missing_ok=True)  # a file without its row is litter
            raise
        return self.get(run_id)

    def import_model(self, data: bytes, *, name: str, max_bytes: int = MAX_UPLOAD_BYTES) -> Run:
        """Record an uploaded `.npz` after validating it exactly as `load_model` does.

        The bytes go to a private temporary file, are loaded without unpickling and checked
        key by key; only a sound model is stored (re-saved by `save_model`), with its test
        accuracy measured here rather than taken from the file's own claim.
        """
        if not data:
            raise ModelFileError("the uploaded file is empty")
        if len(data) > max_bytes:
            raise ModelFileError(
                f"the uploaded file is {len(data):,} bytes; a model may be at most {max_bytes:,} bytes"
            )
        self.model_dir.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self.model_dir, prefix=".upload-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            model = load_model(temp)
        except ModelFileError as exc:
            raise ModelFileError(str(exc).replace(temp, "the uploaded file")) from None
        finally:
            Path(temp).unlink(missing_ok=True)
        mnist = load_mnist()
        model.record = replace(
            model.record,
            test_accuracy=model.score(mnist.test_images, mnist.test_labels),
            trained_at=None,  # recorded as created now: when it arrived here
        )
        return self.add(model, source="upload", name=name)

    # -- reading -----------------------------------------------------------------------------

    def runs(self) -> list[Run]:
        """All runs, newest first."""
        with self._reading() as db:
            rows = db.execute(f"SELECT {COLUMNS} FROM runs ORDER BY id DESC").fetchall()
        return [self._run(row) for row in rows]

    def index(self) -> dict[Path, tuple[int, str]]:
        """The id and name of the run behind each recorded model file, by path: one light query."""
        with self._reading() as db:
            rows = db.execute("SELECT model_file, id, name FROM runs").fetchall()
        return {self.model_dir / Path(model_file).name: (run_id, name) for model_file, run_id, name in rows}

    def get(self, run_id: int) -> Run:
        with self._reading() as db:
            row = db.execute(f"SELECT {COLUMNS} FROM runs WHERE id = ?", (int(run_id),)).fetchone()
        if row is None:
            raise RunStoreError(f"there is no run {run_id} in {self.path}")
        return self._run(row)

    def find(self, model_path: str | Path) -> Run | None:
        """The run whose model is the file at `model_path`, if that file is one of the store's."""
        path = Path(model_path).resolve()
        if path.parent != self.model_dir:
            return None
        with self._reading() as db:
            row = db.execute(f"SELECT {COLUMNS} FROM runs WHERE model_file = ?", (path.name,)).fetchone()
        return self._run(row) if row else None

    def load(self, run_id: int) -> MLP:
        """The trained model of a run."""
        return load_model(self.get(run_id).model_path)

    # -- changing ----------------------------------------------------------------------------

    def rename(self, run_id: int, name: str) -> Run:
        with self._transaction() as db:
            changed = db.execute("UPDATE runs SET name = ? WHERE id = ?", (_clean_name(name), int(run_id)))
        if changed.rowcount == 0:
            raise RunStoreError(f"there is no run {run_id} in {self.path}")
        return self.get(run_id)

    def delete(self, run_id: int) -> None:
        """Forget a run and delete its model file."""
        run = self.get(run_id)
        with self._transaction() as db:
            db.execute("DELETE FROM runs WHERE id = ?", (run.id,))
        run.model_path.unlink(missing_ok=True)  # after the row: a row must never lack its file

    # -- jobs: runs waiting for a worker or running in one -----------------------------------

    def open_job(self, task: dict[str, Any]) -> int:
        """Note a job this process is now responsible for; its id."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO jobs (created, task, state, host, pid) VALUES (?, ?, 'waiting', ?, ?)",
                (_now(), json.dumps(task), socket.gethostname(), os.getpid()),
            )
        return cursor.lastrowid

    def update_job(
        self, job_id: int, state: str, message: str | None = None, run_id: int | None = None
    ) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE jobs SET state = ?, message = ?, run_id = ? WHERE id = ?",
                (state, message, run_id, job_id),
            )

    def jobs(
        self, states: tuple[str, ...] | None = None, ids: Collection[int] | None = None
    ) -> list[dict[str, Any]]:
        """Jobs, newest first (only those in `states`, or with `ids`, if given), as plain dicts."""
        query, values = "SELECT id, created, task, state, message, run_id FROM jobs", ()
        if states:
            query += f" WHERE state IN ({', '.join('?' * len(states))})"
            values = states
        elif ids is not None:
            values = tuple(int(i) for i in ids)
            query += f" WHERE id IN ({', '.join('?' * len(values))})"
        with self._reading() as db:
            rows = db.execute(query + " ORDER BY id DESC", values).fetchall()
        keys = ("id", "created", "task", "state", "message", "run_id")
        return [dict(zip(keys, row)) | {"task": json.loads(row[2])} for row in rows]

    def interrupt_orphaned_jobs(self) -> int:
        """Mark jobs left waiting or running by a server of this machine that has gone; how many.

        Called when a server starts, so that no run stays "running" for ever after a crash.
        """
        with self._transaction() as db:
            rows = db.execute(
                f"SELECT id, pid FROM jobs WHERE host = ? AND state IN {UNFINISHED}", (socket.gethostname(),)
            ).fetchall()
            orphans = [job_id for job_id, pid in rows if not _alive(pid)]
            why = "the server stopped before this run finished; nothing of it was saved"
            db.executemany(
                "UPDATE jobs SET state = 'interrupted', message = ? WHERE id = ?", [(why, i) for i in orphans]
            )
        return len(orphans)

    # -- sweeps: grids of runs ---------------------------------------------------------------

    def add_sweep(self, name: str, definition: dict[str, Any], place: str) -> SweepRecord:
        """Record a sweep before its runs are submitted, so that its id can label them."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO sweeps (created, name, definition, place, jobs) VALUES (?, ?, ?, ?, '[]')",
                (_now(), _clean_name(name), json.dumps(definition), place),
            )
        return self.sweep(cursor.lastrowid)

    def set_sweep_jobs(self, sweep_id: int, job_ids: list[int]) -> None:
        with self._transaction() as db:
            db.execute("UPDATE sweeps SET jobs = ? WHERE id = ?", (json.dumps(job_ids), int(sweep_id)))

    def sweeps(self) -> list[SweepRecord]:
        """All sweeps, newest first."""
        with self._reading() as db:
            rows = db.execute(f"SELECT {SWEEP_COLUMNS} FROM sweeps ORDER BY id DESC").fetchall()
        return [self._sweep(row) for row in rows]

    def sweep(self, sweep_id: int) -> SweepRecord:
        with self._reading() as db:
            row = db.execute(f"SELECT {SWEEP_COLUMNS} FROM sweeps WHERE id = ?", (int(sweep_id),)).fetchone()
        if row is None:
            raise RunStoreError(f"there is no sweep {sweep_id} in {self.path}")
        return self._sweep(row)

    def runs_by_id(self, ids: Collection[int]) -> dict[int, Run]:
        """The recorded runs among `ids` (a deleted run is simply absent), by id."""
        values = tuple(int(i) for i in ids)
        with self._reading() as db:
            rows = db.execute(
                f"SELECT {COLUMNS} FROM runs WHERE id IN ({', '.join('?' * len(values))})", values
            ).fetchall()
        return {row[0]: self._run(row) for row in rows}

    def _sweep(self, row: tuple) -> SweepRecord:
        try:
            definition, jobs = json.loads(row[3]), json.loads(row[5])
        except json.JSONDecodeError as exc:
            raise self._damaged(f"sweep {row[0]} holds malformed JSON ({exc})") from None
        return SweepRecord(row[0], row[1], row[2], definition, row[4], jobs)

    # -- the active model --------------------------------------------------------------------

    def active(self) -> Path | None:
        """The model last made active (in any session), if the pointer names an existing file."""
        return read_active(self.models_dir)

    def set_active(self, path: str | Path) -> None:
        write_active(self.models_dir, Path(path))

    def _new_model_path(self, model: MLP) -> Path:
        """A fresh name that no other run (in this or another process) has taken: time and a random tag."""
        stamp = datetime.now(UTC).strftime(FILE_STAMP)
        widths = "x".join(map(str, model.layer_sizes[1:-1]))
        return self.model_dir / f"run-{stamp}-{widths}-{uuid.uuid4().hex[:6]}.npz"

    # -- the database ------------------------------------------------------------------------

    def _open(self) -> None:
        """Create the store, or check that the existing file is a sound run store."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunStoreError(f"the run store {self.path} cannot be created: {reason(exc)}") from None
        with self._guard():
            db = self._connect()
            try:
                if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    raise sqlite3.DatabaseError("the integrity check failed")
                tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if tables - {"sqlite_sequence"} and not 0 < version <= SCHEMA_VERSION:
                    raise self._damaged("it is an SQLite database but not a Digit Lab run store")
                if version == 0:  # new (IF NOT EXISTS: another process may be creating it too)
                    db.executescript(SCHEMA)
                for step in range(version or SCHEMA_VERSION, SCHEMA_VERSION):
                    db.executescript(MIGRATIONS[step])
                db.execute("PRAGMA journal_mode = WAL")
            finally:
                db.close()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        return db

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._guard():
            db = self._connect()
            try:
                yield db
            finally:
                db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: all of it lands, or none of it (and the error propagates)."""
        with self._reading() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise RunStoreError(f"the run store {self.path} stayed busy for too long ({exc})") from None
            raise self._damaged(str(exc)) from None
        except sqlite3.DatabaseError as exc:
            raise self._damaged(str(exc)) from None

    def _damaged(self, problem: str) -> RunStoreError:
        return RunStoreError(
            f"the run store {self.path} cannot be used: {problem}. It has been left exactly as it "
            f"was; move it aside (or point {locations.RUNS_DB_ENV} elsewhere) to start a new store."
        )

    def _run(self, row: tuple) -> Run:
        try:
            config, history, details = (json.loads(v) if v is not None else None for v in row[4:6] + row[10:])
            config = stored_config(config) if config is not None else None
        except (json.JSONDecodeError, ConfigError, TypeError) as exc:
            raise self._damaged(f"run {row[0]} holds malformed JSON ({exc})") from None
        return Run(
            id=row[0],
            name=row[1],
            created=row[2],
            source=row[3],
            config=config,
            history=history,
            test_accuracy=row[6],
            seconds=row[7],
            status=row[8],
            model_path=self.model_dir / Path(row[9]).name,  # never outside the store's folder
            details=details,
        )


def run_config(model: MLP) -> RunConfig | None:
    """The network and how it was last trained; None for a model not trained by Digit Lab."""
    training = model.record.training
    return RunConfig(model.config, training) if training is not None else None


def default_name(model: MLP) -> str:
    """e.g. "784-128-64-10 · momentum lr 0.1 · 20 epochs"."""
    arch = "-".join(map(str, model.layer_sizes))
    training = model.record.training
    if training is None:
        return arch
    return f"{arch} · {training.optimizer} lr {training.lr:g} · {len(model.record.history)} epochs"


def _clean_name(name: str) -> str:
    name = " ".join(str(name).split())
    if not name:
        raise ValueError("a run's name cannot be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"a run's name can have at most {MAX_NAME_LENGTH} characters (got {len(name)})")
    return name


def stored_config(data: Any) -> RunConfig:
    """A config as the store keeps it (a run's, a sweep's base): {"model": …, "training": …}, or one
    flat {parameter: value} in rows recorded before the network's settings were separated from its
    training. Raises `ConfigError` (or `TypeError`) for anything else."""
    if isinstance(data, dict) and set(data) == {"model", "training"}:
        return RunConfig.from_dict(data)
    return RunConfig.from_values(data)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process is starting afresh: whatever it left is not running
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _timestamp(value: Any) -> str:
    try:
        return datetime.fromisoformat(value).astimezone(UTC).isoformat(timespec="seconds")
    except (TypeError, ValueError):
        return datetime.now(UTC).isoformat(timespec="seconds")


# -- the models the app can use: shipped ones and runs, for its picker ------------------------

Loader = Callable[[Path], MLP]


@dataclass(frozen=True)
class SavedModel:
    """What the sidebar tells a person about one model file, read from its record."""

    path: Path
    layer_sizes: tuple[int, ...]
    test_accuracy: float | None
    trained_at: str | None  # ISO 8601 with its offset, as `nn.core.training` writes it
    status: str | None
    epochs_done: int | None
    name: str | None = None  # its run's name in the run store, unless that is the automatic one

    @property
    def architecture(self) -> str:
        return "-".join(map(str, self.layer_sizes))

    @property
    def trained_in_app(self) -> bool:
        return self.path.parent.name == RUNS

    @property
    def label(self) -> str:
        """Short name for a model picker: shipped models by name, runs by their name and local time."""
        accuracy = f" · {self.test_accuracy:.1%}" if self.test_accuracy is not None else ""
        return f"{self._name} · {self.architecture}{accuracy}"

    @property
    def _name(self) -> str:
        if not self.trained_in_app:
            return self.path.stem
        saved = saved_time(self)
        if saved is None:  # renamed by hand and undated: its names are all we know
            return self.name or self.path.stem
        # Two fine-tunes of one model share a name: the time tells them apart.
        return f"{self.name} ({saved:%d %b %H:%M})" if self.name else f"run {saved:%d %b %H:%M:%S}"


def saved_time(model: SavedModel) -> datetime | None:
    """When a run was trained, in the local time zone: from its record, else its file's UTC stamp."""
    try:
        return datetime.fromisoformat(model.trained_at).astimezone()
    except (TypeError, ValueError):
        pass
    try:  # run-YYYYmmdd-HHMMSS-…
        stamp = "-".join(model.path.stem.split("-")[1:3])
        return datetime.strptime(stamp, FILE_STAMP).replace(tzinfo=UTC).astimezone()
    except ValueError:
        return None


def describe(path: Path, load: Loader = load_model, run_name: str | None = None) -> SavedModel:
    """Read a model file's record, or raise `ModelFileError`; `run_name`: its name as a run."""
    model = load(path)
    record = model.record
    if run_name == default_name(model):  # says no more than the label already does
        run_name = None
    return SavedModel(
        path=path,
        layer_sizes=model.layer_sizes,
        test_accuracy=record.test_accuracy,
        trained_at=record.trained_at,
        status=record.status,
        epochs_done=record.epochs_done,
        name=run_name,
    )


def list_models(
    directory: Path, load: Loader = load_model, run_index: Mapping[Path, tuple[int, str]] | None = None
) -> tuple[list[SavedModel], list[str]]:
    """Shipped models by name, then runs newest first; plus a message for each unreadable file.

    `run_index` is `RunStore.index()`: recorded runs go by their name, newest (highest id) first,
    which stays right when two runs were saved in the same second. A damaged file must not hide
    the good ones, so it is reported, not raised.
    """
    index = {Path(path).resolve(): entry for path, entry in (run_index or {}).items()}
    shipped = sorted(directory.glob("*.npz"))
    runs = sorted(
        (directory / RUNS).glob("*.npz"),
        key=lambda p: (index.get(p.resolve(), (0, ""))[0], p.name),  # unrecorded files: by UTC stamp
        reverse=True,
    )
    models, problems = [], []
    for path in [*shipped, *runs]:
        try:
            models.append(describe(path, load, index.get(path.resolve(), (0, None))[1]))
        except ModelFileError as exc:
            problems.append(str(exc))
    return models, problems


def read_active(directory: Path) -> Path | None:
    """The model last made active, if the pointer in `directory` names an existing file inside it."""
    pointer = directory / ACTIVE_POINTER
    try:
        relative = pointer.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    path = (directory / relative).resolve()
    # A pointer is only followed inside the models directory, whatever its text says.
    if relative and path.is_relative_to(directory.resolve()) and path.is_file():
        return path
    return None


def write_active(directory: Path, path: Path) -> None:
    """Remember `path` as the active model, atomically (a temporary file renamed over)."""
    directory.mkdir(parents=True, exist_ok=True)
    relative = Path(path).resolve().relative_to(directory.resolve()).as_posix()
    fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{ACTIVE_POINTER}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(relative + "\n")
        os.replace(temp, directory / ACTIVE_POINTER)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def initial_choice(models: list[SavedModel], directory: Path) -> SavedModel | None:
    """The model a new session starts with: the remembered one, else the newest run, else any."""
    if not models:
        return None
    remembered = read_active(directory)
    by_path = {m.path.resolve(): m for m in models}
    if remembered is not None and remembered in by_path:
        return by_path[remembered]
    runs = [m for m in models if m.trained_in_app]
    return runs[0] if runs else models[0]
