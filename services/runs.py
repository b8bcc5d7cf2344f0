"""The runs: every trained model Digit Lab keeps, its record, its name, its time, and the active one.

This module is the one owner of a saved run. Whoever trains (the app's workers, the command
line, a fine-tune) hands the model to `RunStore.add`, which names its file, writes it atomically
into `models/runs/` and records a row; nothing else names, dates or places a run's file, and
nothing else rewrites a model file in the models folder (`RunStore.set_temperature`).

The `runs` table of the run store's database (`services.database`) holds a row per run — name,
creation time, hyper-parameters and per-epoch history as JSON, test accuracy, seconds, status;
the history is read back through the same checked reader as a model file's (`nn.core.record`).
Times are stored in UTC (file names included) and shown in the reader's local time, so runs
saved under different time zones still sort and read correctly. Shipped models (such as
`default.npz`) sit in the models folder itself, the runs in its `runs/` folder, and the active
model is a one-line pointer file beside them, so it survives a restart. `services.locations`
says where all of these are.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from nn.core.config import RunConfig
from nn.core.data import load_mnist
from nn.core.errors import ConfigError, ModelFileError
from nn.core.events import EpochEnd
from nn.core.network import MLP
from nn.core.persistence import load_model, save_model
from nn.core.record import ModelRecord

from . import locations
from .database import Database

RUNS = "runs"  # the models folder's subfolder holding trained runs
ACTIVE_POINTER = "active.txt"
FILE_STAMP = "%Y%m%d-%H%M%S"  # in UTC, like every time this module stores
MAX_UPLOAD_BYTES = 64 * 1024 * 1024  # a 784-2048-2048-10 float64 model is ~46 MB
MAX_NAME_LENGTH = 80
SOURCES = ("cli", "app", "upload", "finetune", "sweep")
COLUMNS = "id, name, created, source, config, history, test_accuracy, seconds, status, model_file, details"
# A fine-tune's account was kept in its row's details too, before it was typed; its model file's
# record has always held it, so these keys of an old row are passed over.
FINETUNE_DETAILS = {"settings", "result"}


@dataclass(frozen=True)
class SweepPoint:
    """Where in a sweep a run was trained."""

    sweep_id: int
    index: int  # of its grid point, in the order of the grid's points
    values: dict[str, Any]  # the point's value of each swept parameter, as JSON


@dataclass(frozen=True)
class RunDetails:
    """What a run's row says beyond its columns: for a sweep's run, its grid point; and where it was
    trained (`device`, as its model's record says too), so that listing runs reads no model file."""

    sweep_point: SweepPoint | None = None
    device: str | None = None  # set by `RunStore.add` from the record: "NumPy on the CPU", …

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values, as the `details` column has always held them (a device since engines)."""
        point, data = self.sweep_point, {}
        if point is not None:
            data |= {"sweep": point.sweep_id, "point": point.index, "values": point.values}
        return data | ({"device": self.device} if self.device is not None else {})

    @classmethod
    def from_dict(cls, data: Any) -> RunDetails:
        """Raise `ValueError` for anything `to_dict` (or an older version of it) would not write."""
        if not isinstance(data, dict):
            raise ValueError("its details must be a JSON object")
        data = {key: value for key, value in data.items() if key not in FINETUNE_DETAILS}
        device = data.pop("device", None)
        if device is not None and not isinstance(device, str):
            raise ValueError("its device must be words")
        if not data:
            return cls(device=device)
        if set(data) != {"sweep", "point", "values"} or not isinstance(data["values"], dict):
            raise ValueError(f"its details must give a sweep, a point and values (got {sorted(data)})")
        sweep_id, index = data["sweep"], data["point"]
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in (sweep_id, index)):
            raise ValueError("its sweep and point must be whole numbers")
        return cls(SweepPoint(sweep_id, index, data["values"]), device)


@dataclass(frozen=True)
class Run:
    """One recorded training run."""

    id: int
    name: str
    created: str  # ISO 8601, UTC
    source: str  # one of SOURCES
    config: RunConfig | None  # None when unknown (an uploaded model that did not say)
    history: tuple[EpochEnd, ...]
    test_accuracy: float | None
    seconds: float | None
    status: str
    model_path: Path
    details: RunDetails

    @property
    def architecture(self) -> str:
        return self.config.model.architecture if self.config else "?"

    @property
    def engine(self) -> str | None:
        """What trained it ("numpy", "tensorflow"); None when unknown (an upload that did not say)."""
        return self.config.training.engine if self.config else None

    @property
    def device(self) -> str | None:
        """Where it was trained, in words; None for a run recorded before engines said so."""
        return self.details.device


class RunStore:
    """The runs recorded in the run store's database at `path` (default: `locations.runs_db()`,
    created on first use), their models in `models_dir/runs/` (default: `locations.models_dir()`)."""

    def __init__(self, path: str | Path | None = None, models_dir: str | Path | None = None):
        self.database = Database(path)
        self.path = self.database.path
        self.models_dir = Path(models_dir or locations.models_dir()).resolve()
        self.model_dir = self.models_dir / RUNS

    # -- recording ---------------------------------------------------------------------------

    def add(
        self,
        model: MLP,
        *,
        source: str,
        name: str | None = None,
        details: RunDetails | None = None,
    ) -> Run:
        """Save `model` under a new name in `model_dir`, record it from its record, return the run."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
        record, config = model.record, run_config(model)
        row = {
            "name": clean_name(name or default_name(model)),
            "created": _timestamp(record.trained_at),
            "source": source,
            "config": json.dumps(config.to_dict()) if config is not None else None,
            "history": json.dumps([asdict(epoch) for epoch in record.history]),
            "test_accuracy": record.test_accuracy,
            "seconds": record.train_seconds,
            "status": record.status or "completed",
            "details": json.dumps(replace(details or RunDetails(), device=record.device).to_dict()),
        }
        model_path = save_model(model, self._new_model_path(model))
        row["model_file"] = model_path.name
        try:
            with self.database.transaction() as db:
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
        with self.database.reading() as db:
            rows = db.execute(f"SELECT {COLUMNS} FROM runs ORDER BY id DESC").fetchall()
        return [self._run(row) for row in rows]

    def index(self) -> dict[Path, tuple[int, str]]:
        """The id and name of the run behind each recorded model file, by path: one light query."""
        with self.database.reading() as db:
            rows = db.execute("SELECT model_file, id, name FROM runs").fetchall()
        return {self.model_dir / Path(model_file).name: (run_id, name) for model_file, run_id, name in rows}

    def get(self, run_id: int) -> Run:
        with self.database.reading() as db:
            row = db.execute(f"SELECT {COLUMNS} FROM runs WHERE id = ?", (int(run_id),)).fetchone()
        if row is None:
            raise self.database.missing(f"run {run_id}")
        return self._run(row)

    def runs_by_id(self, ids: Collection[int]) -> dict[int, Run]:
        """The recorded runs among `ids` (a deleted run is simply absent), by id."""
        values = tuple(int(i) for i in ids)
        with self.database.reading() as db:
            rows = db.execute(
                f"SELECT {COLUMNS} FROM runs WHERE id IN ({', '.join('?' * len(values))})", values
            ).fetchall()
        return {row[0]: self._run(row) for row in rows}

    def find(self, model_path: str | Path) -> Run | None:
        """The run whose model is the file at `model_path`, if that file is one of the store's."""
        path = Path(model_path).resolve()
        if path.parent != self.model_dir:
            return None
        with self.database.reading() as db:
            row = db.execute(f"SELECT {COLUMNS} FROM runs WHERE model_file = ?", (path.name,)).fetchone()
        return self._run(row) if row else None

    def load(self, run_id: int) -> MLP:
        """The trained model of a run."""
        return load_model(self.get(run_id).model_path)

    # -- changing ----------------------------------------------------------------------------

    def rename(self, run_id: int, name: str) -> Run:
        with self.database.transaction() as db:
            changed = db.execute("UPDATE runs SET name = ? WHERE id = ?", (clean_name(name), int(run_id)))
        if changed.rowcount == 0:
            raise self.database.missing(f"run {run_id}")
        return self.get(run_id)

    def delete(self, run_id: int) -> None:
        """Forget a run and delete its model file."""
        run = self.get(run_id)
        with self.database.transaction() as db:
            db.execute("DELETE FROM runs WHERE id = ?", (run.id,))
        run.model_path.unlink(missing_ok=True)  # after the row: a row must never lack its file

    def set_temperature(
        self, path: str | Path, temperature: float | None, fitted_for: float | None = None
    ) -> Path:
        """Store `temperature` (None: remove it) in the model file at `path`, in place and safely.

        `path` is one of the models folder's files, a run's or a shipped one; it keeps its name.
        Only the record changes, and nothing is lost: the new file is written beside the old one,
        read back and compared weight for weight with the old, and only then renamed over it (an
        atomic step). `fitted_for` is the modification time of the file the temperature was
        fitted for: if the file has changed since, it is refused rather than given a temperature
        fitted to other weights. Removing the temperature gives back the model exactly as it was.
        """
        path = Path(path)
        if not path.resolve().is_relative_to(self.models_dir):
            raise ModelFileError(f"{path} is not in the models folder {self.models_dir}")
        model = load_model(path)
        if fitted_for is not None and path.stat().st_mtime != fitted_for:
            raise ModelFileError(f"{path} changed since its temperature was fitted: fit it again")
        model.record = replace(model.record, temperature=None if temperature is None else float(temperature))
        staged = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")  # ignored by git, as save_model's
        try:
            save_model(model, staged)
            written = load_model(staged)
            if not np.array_equal(written.params, model.params) or written.record != model.record:
                raise ModelFileError(
                    f"writing {path} again did not reproduce it; the model was left as it was"
                )
            os.replace(staged, path)
        finally:
            staged.unlink(missing_ok=True)
        return path

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

    def _run(self, row: tuple) -> Run:
        try:
            config, history, details = (json.loads(v) if v is not None else None for v in row[4:6] + row[10:])
            config = stored_config(config) if config is not None else None
            history = ModelRecord.from_dict({"history": history}).history  # checked as a model file's
            details = RunDetails.from_dict(details)
        except (ValueError, ConfigError, TypeError) as exc:  # JSONDecodeError is a ValueError
            raise self.database.damaged(f"run {row[0]} holds malformed JSON ({exc})") from None
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


def clean_name(name: str) -> str:
    """A run's (or a sweep's) name with its spaces tidied; raises `ValueError` if empty or too long."""
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


def _timestamp(value: Any) -> str:
    try:
        return datetime.fromisoformat(value).astimezone(UTC).isoformat(timespec="seconds")
    except (TypeError, ValueError):
        return datetime.now(UTC).isoformat(timespec="seconds")


# -- the models the app can use, and the active one ------------------------------------------


def in_runs_folder(path: Path) -> bool:
    """Whether the model file at `path` is a run's (trained here), not a shipped model."""
    return path.parent.name == RUNS


def model_files(directory: Path, run_index: Mapping[Path, tuple[int, str]] | None = None) -> list[Path]:
    """The model files in the models folder `directory`: shipped ones by name, then runs newest first.

    `run_index` is `RunStore.index()`: recorded runs go newest (highest id) first, which stays
    right when two runs were saved in the same second; unrecorded ones by their file's UTC stamp.
    """
    index = {Path(path).resolve(): entry for path, entry in (run_index or {}).items()}
    shipped = sorted(directory.glob("*.npz"))
    runs = sorted(
        (directory / RUNS).glob("*.npz"),
        key=lambda p: (index.get(p.resolve(), (0, ""))[0], p.name),
        reverse=True,
    )
    return [*shipped, *runs]


def choose_model(candidates: Sequence[Path], directory: Path) -> Path | None:
    """The model to use among `candidates` (in `model_files`' order) when none is chosen: the one
    last made active in the models folder `directory`, else the newest run, else the first."""
    if not candidates:
        return None
    remembered = read_active(directory)
    for path in candidates:
        if path.resolve() == remembered:
            return path
    runs = [path for path in candidates if in_runs_folder(path)]
    return runs[0] if runs else candidates[0]


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
