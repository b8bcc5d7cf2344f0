"""The sweep store: each sweep's grid, where it ran and the job of each of its grid points.

A sweep (`services.sweeps`) is noted here before its runs are submitted, so that its id can
label them, and given its jobs once they are; reopened later, it finds their states in the job
journal (`services.journal`) and their runs in the run store (`services.runs`). The store is
the `sweeps` table of the run store's database (`services.database`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .database import Database, utc_now
from .runs import clean_name

COLUMNS = "id, created, name, definition, place, jobs"


@dataclass(frozen=True)
class SweepEntry:
    """One sweep as the store has it: what it tried, where it ran, and the job of each grid point."""

    id: int
    created: str  # ISO 8601, UTC
    name: str
    definition: dict[str, Any]  # its grid, as `services.sweeps.Grid.to_dict()` gives it (JSON)
    place: str  # where its runs went: this machine's pool or a Dask scheduler's address
    job_ids: list[int]  # in the order of the grid's points; empty until they are submitted


class SweepStore:
    """The sweeps noted in the run store's database at `path` (default: `locations.runs_db()`)."""

    def __init__(self, path: str | Path | None = None):
        self.database = Database(path)
        self.path = self.database.path

    def add(self, name: str, definition: dict[str, Any], place: str) -> SweepEntry:
        """Note a sweep before its runs are submitted, so that its id can label them."""
        with self.database.transaction() as db:
            cursor = db.execute(
                "INSERT INTO sweeps (created, name, definition, place, jobs) VALUES (?, ?, ?, ?, '[]')",
                (utc_now(), clean_name(name), json.dumps(definition), place),
            )
        return self.get(cursor.lastrowid)

    def set_jobs(self, sweep_id: int, job_ids: list[int]) -> None:
        with self.database.transaction() as db:
            db.execute("UPDATE sweeps SET jobs = ? WHERE id = ?", (json.dumps(job_ids), int(sweep_id)))

    def sweeps(self) -> list[SweepEntry]:
        """All sweeps, newest first."""
        with self.database.reading() as db:
            rows = db.execute(f"SELECT {COLUMNS} FROM sweeps ORDER BY id DESC").fetchall()
        return [self._entry(row) for row in rows]

    def get(self, sweep_id: int) -> SweepEntry:
        with self.database.reading() as db:
            row = db.execute(f"SELECT {COLUMNS} FROM sweeps WHERE id = ?", (int(sweep_id),)).fetchone()
        if row is None:
            raise self.database.missing(f"sweep {sweep_id}")
        return self._entry(row)

    def _entry(self, row: tuple) -> SweepEntry:
        try:
            definition, jobs = json.loads(row[3]), json.loads(row[5])
        except json.JSONDecodeError as exc:
            raise self.database.damaged(f"sweep {row[0]} holds malformed JSON ({exc})") from None
        return SweepEntry(row[0], row[1], row[2], definition, row[4], jobs)
