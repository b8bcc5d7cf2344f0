"""The job journal: jobs noted as typed entries, orphans interrupted, damage reported in words."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from nn.core.checkpoint import save_checkpoint
from nn.core.config import ModelConfig, RunConfig, TrainConfig
from nn.core.data import load_mnist
from nn.core.events import EpochEnd
from nn.engines import start_training
from services.database import SCHEMA_VERSION, RunStoreError
from services.finetune import FineTuneSettings
from services.job_states import JobState
from services.journal import INTERRUPTED_WHY, JobEntry, Journal
from services.runs import RunStore
from services.sweep_store import SweepStore
from services.tasks import FineTuneTask, TrainTask

TRAIN = TrainTask(RunConfig(ModelConfig(hidden=(8,)), TrainConfig(epochs=5, train_size=500)), source="cli")
FINETUNE = FineTuneTask(Path("default.npz"), FineTuneSettings())


@pytest.fixture
def journal(tmp_path) -> Journal:
    return Journal(tmp_path / "runs.sqlite")


def test_a_job_is_noted_waiting_and_follows_its_states(journal: Journal) -> None:
    first = journal.open_job(TRAIN)
    second = journal.open_job(FINETUNE, place="tcp://127.0.0.1:8786")
    [newest, oldest] = journal.jobs()
    assert (newest.id, newest.task, newest.place, newest.state) == (
        second,
        FINETUNE,
        "tcp://127.0.0.1:8786",
        "waiting",
    )
    assert isinstance(oldest, JobEntry) and oldest.state is JobState.WAITING and oldest.task == TRAIN
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
    mine, theirs, done = (journal.open_job(TRAIN) for _ in range(3))
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
    job = journal.open_job(TRAIN)
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
    assert journal.open_job(TRAIN) == 1
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()


def test_a_job_noted_by_an_older_version_is_read_with_the_defaults(journal: Journal) -> None:
    journal.open_job(TRAIN)  # creates the table
    old = [{"kind": "train", "config": TRAIN.config.to_dict()}, {"kind": "finetune", "model": "x.npz"}]
    with sqlite3.connect(journal.path) as db:
        db.executemany("UPDATE jobs SET task = ? WHERE id = 1", [(json.dumps(old[0]),)])
        db.execute(
            "INSERT INTO jobs (created, task, state, host, pid) VALUES ('2026-12-01', ?, 'failed', 'h', 1)",
            (json.dumps(old[1]),),
        )
    db.close()
    [finetune, train] = journal.jobs()
    assert train.task == TrainTask(TRAIN.config) and train.place is None
    assert finetune.task == FineTuneTask(Path("x.npz"), FineTuneSettings())


def write_checkpoint(journal: Journal, job_id: int, epochs: int = 2) -> Path:
    """A real checkpoint of TRAIN's training, `epochs` epochs in."""
    training = start_training(TRAIN.config, load_mnist())
    for event in training.events():
        if isinstance(event, EpochEnd) and event.epoch == epochs:
            break
    path = journal.checkpoint(job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_checkpoint(training.model, training.state(), path)


def test_a_finished_job_leaves_no_checkpoint_and_an_interrupted_one_is_offered_with_its_epoch(
    journal: Journal,
) -> None:
    done, stopped, killed, early = (journal.open_job(TRAIN) for _ in range(4))
    for job in (done, stopped, killed):
        write_checkpoint(journal, job)
    journal.update_job(done, JobState.FINISHED, run_id=3)
    journal.update_job(killed, JobState.FAILED, "The worker process running this job was killed by SIGKILL")
    journal.update_job(early, JobState.FAILED, "no digits to fine-tune on")  # failed before any checkpoint
    assert journal.interrupt_orphaned_jobs() == 1  # `stopped`: its server (this process) has gone
    assert not journal.checkpoint(done).exists()
    offered = journal.interrupted()
    assert [(i.job.id, i.job.state, i.epochs_done, i.epochs, i.why_not) for i in offered] == [
        (killed, JobState.FAILED, 2, 5, None),
        (stopped, JobState.INTERRUPTED, 2, 5, None),
    ]
    assert offered[0].task == TRAIN


def test_resuming_hands_the_checkpoint_over_and_discarding_deletes_it(journal: Journal) -> None:
    old, other = journal.open_job(TRAIN), journal.open_job(TRAIN)
    write_checkpoint(journal, old)
    write_checkpoint(journal, other, epochs=1)
    journal.interrupt_orphaned_jobs()
    new = journal.open_job(TrainTask(TRAIN.config, source="cli", resumed_from=old))
    assert not journal.checkpoint(old).exists() and journal.checkpoint(new).exists()
    states = {e.id: (e.state, e.message) for e in journal.jobs()}
    assert states[old] == (JobState.RESUMED, f"resumed as job {new}")
    journal.discard(other)
    assert not journal.checkpoint(other).exists()
    assert journal.jobs(ids=[other])[0].state is JobState.DISCARDED
    assert journal.interrupted() == []  # `new` is waiting: this process is responsible for it


def test_what_cannot_be_resumed_says_why_and_can_still_be_discarded(journal: Journal) -> None:
    remote = journal.open_job(TRAIN, place="tcp://127.0.0.1:8786")
    damaged = journal.open_job(TRAIN)
    journal.checkpoint(damaged).parent.mkdir(parents=True, exist_ok=True)
    journal.checkpoint(damaged).write_bytes(b"PK\x03\x04 the first bytes of a zip, then nothing")
    journal.interrupt_orphaned_jobs()
    reasons = {i.job.id: i.why_not for i in journal.interrupted()}
    assert "Dask cluster at tcp://127.0.0.1:8786" in reasons[remote]
    assert "cannot be read" in reasons[damaged]
    journal.discard(damaged)
    assert not journal.checkpoint(damaged).exists() and damaged not in {
        i.job.id for i in journal.interrupted()
    }


def test_a_job_resumed_twice_is_followed_to_where_its_training_went_on(journal: Journal) -> None:
    first, other = journal.open_job(TRAIN), journal.open_job(TRAIN)
    journal.interrupt_orphaned_jobs()
    second = journal.open_job(TrainTask(TRAIN.config, source="cli", resumed_from=first))
    journal.interrupt_orphaned_jobs()
    third = journal.open_job(TrainTask(TRAIN.config, source="cli", resumed_from=second))
    journal.update_job(third, JobState.FINISHED, run_id=4)
    carried = journal.carried_on([first, other, 99])
    assert {k: (v.id, v.state, v.run_id) for k, v in carried.items()} == {
        first: (third, JobState.FINISHED, 4),
        other: (other, JobState.INTERRUPTED, None),
    }
