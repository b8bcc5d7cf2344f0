"""The job journal: jobs noted as typed entries, orphans interrupted, damage reported in words."""

from __future__ import annotations

import os
import sqlite3

import pytest

from services.database import SCHEMA_VERSION, RunStoreError
from services.job_states import JobState
from services.journal import INTERRUPTED_WHY, JobEntry, Journal
from services.runs import RunStore
from services.sweep_store import SweepStore


@pytest.fixture
def journal(tmp_path) -> Journal:
    return Journal(tmp_path / "runs.sqlite")


def test_a_job_is_noted_waiting_and_follows_its_states(journal: Journal) -> None:
    first = journal.open_job({"kind": "train"})
    second = journal.open_job({"kind": "finetune", "model": "default.npz"})
    [newest, oldest] = journal.jobs()
    assert (newest.id, newest.task, newest.state) == (
        second,
        {"kind": "finetune", "model": "default.npz"},
        "waiting",
    )
    assert isinstance(oldest, JobEntry) and oldest.state is JobState.WAITING
    journal.update_job(first, JobState.RUNNING)
    journal.update_job(second, JobState.FAILED, "the worker died")
    journal.update_job(first, JobState.FINISHED, run_id=7)
    assert [(e.state, e.message, e.run_id) for e in journal.jobs()] == [
        (JobState.FAILED, "the worker died", None),
        (JobState.FINISHED, None, 7),
    ]
    assert [e.id for e in journal.jobs(states=[JobState.FAILED])] == [second]
    assert [e.id for e in journal.jobs(ids=[first])] == [first]
    assert journal.jobs(ids=[]) == []


def test_jobs_left_unfinished_by_a_process_that_has_gone_are_interrupted(journal: Journal) -> None:
    mine, theirs, done = (journal.open_job({"kind": "train"}) for _ in range(3))
    journal.update_job(done, JobState.FINISHED)
    with sqlite3.connect(journal.path) as db:  # a process still alive holds this one
        db.execute("UPDATE jobs SET pid = ? WHERE id = ?", (os.getppid(), theirs))
    db.close()
    # This process is the one starting afresh: what it had noted before is an orphan.
    assert journal.interrupt_orphaned_jobs() == 1
    states = {e.id: (e.state, e.message) for e in journal.jobs()}
    assert states == {
        mine: (JobState.INTERRUPTED, INTERRUPTED_WHY),
        theirs: (JobState.WAITING, None),
        done: (JobState.FINISHED, None),
    }


def test_a_job_in_a_state_no_job_can_be_in_is_reported(journal: Journal) -> None:
    job = journal.open_job({"kind": "train"})
    with sqlite3.connect(journal.path) as db:
        db.execute("UPDATE jobs SET state = 'exploded' WHERE id = ?", (job,))
    db.close()
    with pytest.raises(RunStoreError, match=f"cannot be used: job {job} cannot be read.*exploded"):
        journal.jobs()


def test_a_store_of_the_first_version_gains_the_journal_and_the_sweeps(tmp_path) -> None:
    path = tmp_path / "runs.sqlite"
    RunStore(path, tmp_path / "models")
    with sqlite3.connect(path) as db:
        db.executescript("DROP TABLE jobs; DROP TABLE sweeps; PRAGMA user_version = 1;")
    db.close()
    journal = Journal(path)
    assert journal.jobs() == [] and SweepStore(path).sweeps() == []
    assert journal.open_job({"kind": "train"}) == 1
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()
