"""The run store's SQLite file: its schema, its versions, its connections and transactions.

One database (the standard library's `sqlite3`, at `services.locations.runs_db()`) holds three
tables, each with one owner that alone reads and writes it: `runs` (`services.runs`), `jobs`
(the job journal, `services.journal`) and `sweeps` (`services.sweep_store`). This module owns
only what they share: creating the file, checking it, bringing an older one up to the current
schema, and opening connections.

Several writers at once are normal (the CLI in a terminal, two browser tabs training): every
operation opens its own connection, writes inside `BEGIN IMMEDIATE` and waits for a busy
database instead of failing, and the database runs in WAL mode so readers never block writers.
A damaged database is reported, never silently replaced: it holds the user's history. One clock:
times are stored in UTC and shown in the reader's local time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from nn.core.errors import DigitLabError
from nn.core.persistence import reason

from . import locations

BUSY_TIMEOUT_SECONDS = 30.0
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


class RunStoreError(DigitLabError):
    """The run store is unreadable, or a run, job or sweep asked for is not in it."""


class Database:
    """The run store's file at `path` (default: `locations.runs_db()`), created on first use.

    Opening checks the file once; then `reading()` and `transaction()` hand out a fresh
    connection per operation, so one `Database` may be shared by threads.
    """

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path or locations.runs_db()).resolve()
        self._open()

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A connection for queries; an SQLite error comes out as a `RunStoreError` in words."""
        with self._guard():
            db = self._connect()
            try:
                yield db
            finally:
                db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: all of it lands, or none of it (and the error propagates)."""
        with self.reading() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def damaged(self, problem: str) -> RunStoreError:
        """The error for a store that cannot be used, saying how to start afresh without losing it."""
        return RunStoreError(
            f"the run store {self.path} cannot be used: {problem}. It has been left exactly as it "
            f"was; move it aside (or point {locations.RUNS_DB_ENV} elsewhere) to start a new store."
        )

    def missing(self, what: str) -> RunStoreError:
        """The error for a row asked for that is not there, e.g. `missing("run 4")`."""
        return RunStoreError(f"there is no {what} in {self.path}")

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
                    raise self.damaged("it is an SQLite database but not a Digit Lab run store")
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
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise RunStoreError(f"the run store {self.path} stayed busy for too long ({exc})") from None
            raise self.damaged(str(exc)) from None
        except sqlite3.DatabaseError as exc:
            raise self.damaged(str(exc)) from None


def utc_now() -> str:
    """Now, as the store writes every time: ISO 8601 in UTC, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")
