"""The job journal: every job a runner has taken on, and the state it is in.

A runner (`services.jobs`, `services.cluster`) or the command line notes each job here when it
is submitted and each change of its state after, so that the jobs outlive the server's memory: a
job left waiting or running by a server that has gone (a crash, a restart) is marked interrupted
when the next server starts, and a sweep reopened later finds out how each of its runs went. The
journal is the `jobs` table of the run store's database (`services.database`).

It also owns the jobs' checkpoints (`nn.core.checkpoint`), in a folder beside the database: a
training on this machine writes one at the end of every epoch, so an interrupted job (or one
whose worker died) can be resumed where it was, by another job that takes its checkpoint over.
A checkpoint is deleted when its job finishes, is cancelled or is discarded; nothing else
deletes one.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from nn.core.checkpoint import CheckpointError, read_progress

from .database import Database, utc_now
from .job_states import JobState
from .tasks import Task, TrainTask, task_from_json, task_to_json

INTERRUPTED_WHY = "the server stopped before this run finished"
COLUMNS = "id, created, task, state, message, run_id"
CHECKPOINTS = "checkpoints"  # the folder beside the database
ENDED = (JobState.FINISHED, JobState.CANCELLED, JobState.DISCARDED)  # their checkpoints go


@dataclass(frozen=True)
class JobEntry:
    """One job as the journal has it."""

    id: int
    created: str  # ISO 8601, UTC
    task: Task
    place: str | None  # the Dask scheduler it ran on; None: this machine
    state: JobState
    message: str | None  # why it failed or was interrupted
    run_id: int | None  # the run it saved, once it has


@dataclass(frozen=True)
class Interrupted:
    """A training that stopped before its end and was not let go: what a person may resume."""

    job: JobEntry
    epochs_done: int | None  # as of its checkpoint; None: it has none (resumed, it starts over)
    epochs: int
    why_not: str | None  # why it cannot be resumed (a Dask run, a damaged checkpoint); None: it can

    @property
    def task(self) -> TrainTask:
        assert isinstance(self.job.task, TrainTask)  # only trainings are listed
        return self.job.task


def checkpoint_file(database: Path, job_id: int) -> Path:
    """Where the training of job `job_id` keeps its checkpoint (a worker writes it there)."""
    return Path(database).parent / CHECKPOINTS / f"job-{job_id}.npz"


class Journal:
    """The jobs noted in the run store's database at `path` (default: `locations.runs_db()`)."""

    def __init__(self, path: str | Path | None = None):
        self.database = Database(path)
        self.path = self.database.path

    def open_job(self, task: Task, place: str | None = None) -> int:
        """Note a job this process is now responsible for, waiting; its id.

        A task that resumes an interrupted job takes that job's checkpoint over, and the old
        job is marked resumed, in the same step: the training is always some job's.
        """
        entry = task_to_json(task) | ({"place": place} if place else {})
        with self.database.transaction() as db:
            cursor = db.execute(
                "INSERT INTO jobs (created, task, state, host, pid) VALUES (?, ?, ?, ?, ?)",
                (utc_now(), json.dumps(entry), JobState.WAITING, socket.gethostname(), os.getpid()),
            )
            job_id = cursor.lastrowid
            resumed = task.resumed_from if isinstance(task, TrainTask) else None
            if resumed is not None:
                why = f"resumed as job {job_id}"
                db.execute(
                    "UPDATE jobs SET state = ?, message = ? WHERE id = ?", (JobState.RESUMED, why, resumed)
                )
        if resumed is not None and self.checkpoint(resumed).exists():
            self.checkpoint(resumed).replace(self.checkpoint(job_id))
        return job_id

    def update_job(
        self, job_id: int, state: JobState, message: str | None = None, run_id: int | None = None
    ) -> None:
        with self.database.transaction() as db:
            db.execute(
                "UPDATE jobs SET state = ?, message = ?, run_id = ? WHERE id = ?",
                (JobState(state), message, run_id, job_id),
            )
        if state in ENDED:
            self.checkpoint(job_id).unlink(missing_ok=True)

    def discard(self, job_id: int) -> None:
        """Let an interrupted or failed training go, and its checkpoint with it."""
        self.update_job(job_id, JobState.DISCARDED, "discarded")

    def checkpoint(self, job_id: int) -> Path:
        return checkpoint_file(self.path, job_id)

    def interrupted(self) -> list[Interrupted]:
        """Every training that stopped before its end and was neither resumed nor discarded,
        newest first: interrupted by a server that stopped, or failed with a checkpoint left
        (its worker died)."""
        found = []
        for job in self.jobs([JobState.INTERRUPTED, JobState.FAILED]):
            if not isinstance(job.task, TrainTask):
                continue
            checkpoint = self.checkpoint(job.id)
            if job.state is JobState.FAILED and not checkpoint.exists():
                continue  # failed before it trained: its error, in words, is all there is
            found.append(self._interrupted(job, checkpoint))
        return found

    def carried_on(self, job_ids: Collection[int]) -> dict[int, JobEntry]:
        """Each of `job_ids` → the job its training is now in: itself, or the job that resumed it
        (and so on, if that one was interrupted and resumed in turn)."""
        every = self.jobs()
        by_id = {job.id: job for job in every}
        successor = {
            job.task.resumed_from: job
            for job in every
            if isinstance(job.task, TrainTask) and job.task.resumed_from is not None
        }
        found = {}
        for job_id in job_ids:
            job = by_id.get(job_id)
            while job is not None and job.state is JobState.RESUMED and job.id in successor:
                job = successor[job.id]
            if job is not None:
                found[job_id] = job
        return found

    def _interrupted(self, job: JobEntry, checkpoint: Path) -> Interrupted:
        epochs = job.task.config.training.epochs
        if job.place is not None:
            why = f"it ran on the Dask cluster at {job.place}, whose workers keep no checkpoints here"
            return Interrupted(job, None, epochs, why)
        if not checkpoint.exists():  # it had not started (or ran before checkpoints): it starts over
            return Interrupted(job, None, epochs, None)
        try:
            progress = read_progress(checkpoint)
        except CheckpointError as exc:
            return Interrupted(job, None, epochs, str(exc))
        return Interrupted(job, progress.epochs_done, progress.epochs, None)

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
            data = json.loads(row[2])
            task, state = task_from_json(data), JobState(row[3])
        except (ValueError, TypeError, KeyError) as exc:  # malformed JSON or task, an unknown state
            raise self.database.damaged(f"job {row[0]} cannot be read ({exc})") from None
        return JobEntry(row[0], row[1], task, data.get("place"), state, row[4], row[5])


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process is starting afresh: whatever it left is not running
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Killed, and not yet reaped by its parent: it still answers `kill(pid, 0)`, but runs nothing."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):  # no /proc (not Linux), or the process has just gone
        return False
