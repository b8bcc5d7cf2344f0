"""The job journal: every job a runner has taken on, and the state it is in.

A runner (`services.jobs`, `services.cluster`) notes each job here when it is submitted and
each change of its state after, so that the jobs outlive the server's memory: a job left
waiting or running by a server that has gone (a crash, a restart) is marked interrupted when
the next server starts, and a sweep reopened later finds out how each of its runs went. The
journal is the `jobs` table of the run store's database (`services.database`).
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .database import Database, utc_now
from .job_states import JobState

INTERRUPTED_WHY = "the server stopped before this run finished; nothing of it was saved"
COLUMNS = "id, created, task, state, message, run_id"


@dataclass(frozen=True)
class JobEntry:
    """One job as the journal has it."""

    id: int
    created: str  # ISO 8601, UTC
    task: dict[str, Any]  # what the job does, in words (as `services.jobs.describe` puts it)
    state: JobState
    message: str | None  # why it failed or was interrupted
    run_id: int | None  # the run it saved, once it has


class Journal:
    """The jobs noted in the run store's database at `path` (default: `locations.runs_db()`)."""

    def __init__(self, path: str | Path | None = None):
        self.database = Database(path)
        self.path = self.database.path

    def open_job(self, task: dict[str, Any]) -> int:
        """Note a job this process is now responsible for, waiting; its id."""
        with self.database.transaction() as db:
            cursor = db.execute(
                "INSERT INTO jobs (created, task, state, host, pid) VALUES (?, ?, ?, ?, ?)",
                (utc_now(), json.dumps(task), JobState.WAITING, socket.gethostname(), os.getpid()),
            )
        return cursor.lastrowid

    def update_job(
        self, job_id: int, state: JobState, message: str | None = None, run_id: int | None = None
    ) -> None:
        with self.database.transaction() as db:
            db.execute(
                "UPDATE jobs SET state = ?, message = ?, run_id = ? WHERE id = ?",
                (JobState(state), message, run_id, job_id),
            )

    def jobs(
        self, states: Collection[JobState] | None = None, ids: Collection[int] | None = None
    ) -> list[JobEntry]:
        """Jobs, newest first (only those in `states`, or with `ids`, if given)."""
        query, values = f"SELECT {COLUMNS} FROM jobs", ()
        if states:
            values = tuple(JobState(state) for state in states)
            query += f" WHERE state IN ({', '.join('?' * len(values))})"
        elif ids is not None:
            values = tuple(int(i) for i in ids)
            query += f" WHERE id IN ({', '.join('?' * len(values))})"
        with self.database.reading() as db:
            rows = db.execute(query + " ORDER BY id DESC", values).fetchall()
        return [self._entry(row) for row in rows]

    def interrupt_orphaned_jobs(self) -> int:
        """Mark jobs left waiting or running by a server of this machine that has gone; how many.

        Called when a server starts, so that no run stays "running" for ever after a crash.
        """
        unfinished = tuple(state for state in JobState if state.unfinished)
        with self.database.transaction() as db:
            rows = db.execute(
                f"SELECT id, pid FROM jobs WHERE host = ? AND state IN ({', '.join('?' * len(unfinished))})",
                (socket.gethostname(), *unfinished),
            ).fetchall()
            orphans = [job_id for job_id, pid in rows if not _alive(pid)]
            db.executemany(
                "UPDATE jobs SET state = ?, message = ? WHERE id = ?",
                [(JobState.INTERRUPTED, INTERRUPTED_WHY, i) for i in orphans],
            )
        return len(orphans)

    def _entry(self, row: tuple) -> JobEntry:
        try:
            task, state = json.loads(row[2]), JobState(row[3])
        except ValueError as exc:  # malformed JSON, or a state no job can be in
            raise self.database.damaged(f"job {row[0]} cannot be read ({exc})") from None
        return JobEntry(row[0], row[1], task, state, row[4], row[5])


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
