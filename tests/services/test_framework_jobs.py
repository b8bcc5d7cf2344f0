"""TensorFlow runs in the job runner: the same worker processes, queue, stop and crashes as NumPy's."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from nn.core.config import RunConfig
from nn.core.network import MLP
from nn.core.persistence import load_model
from services.job_states import JobState
from services.jobs import Job, JobRunner
from services.journal import Journal
from services.runs import RunStore
from services.tasks import TrainTask
from tests.support.jobs import ENDLESS_VALUES, wait_for

TINY = RunConfig.from_values(dict(hidden=(16,), epochs=2, train_size=500, seed=1, engine="tensorflow"))
ENDLESS = RunConfig.from_values(ENDLESS_VALUES | dict(engine="tensorflow"))


@pytest.fixture
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "runs.sqlite", tmp_path / "models")


@pytest.fixture
def runner(store, tmp_path):
    runner = JobRunner(1, cores=2, store=store, user_digits_dir=tmp_path / "digits")
    yield runner
    runner.shutdown()


def finished(job: Job) -> bool:
    return not job.progress().running


def training(job: Job) -> bool:
    return job.progress().batch is not None or bool(job.progress().epochs)


def test_a_tensorflow_run_trains_in_a_worker_says_where_and_is_saved_as_any_run(runner, store, mnist):
    job = runner.submit(TrainTask(TINY))
    wait_for(lambda: finished(job), "the run")
    progress = job.progress()
    assert progress.state == JobState.FINISHED and progress.error is None, progress.error
    assert progress.device == "TensorFlow 2.21.0 on the CPU: no GPU found"
    assert [e.epoch for e in progress.epochs] == [1, 2] and progress.features.shape == (16, 28, 28)
    model = load_model(progress.saved.model_path)
    assert model.record.training.engine == "tensorflow" and model.record.device == progress.device
    assert model.record.history == progress.epochs
    # The saved weights are the ones that scored: the file predicts as the run measured.
    assert model.score(mnist.test_images, mnist.test_labels) == pytest.approx(
        progress.epochs[-1].test_accuracy
    )


def test_stop_ends_a_tensorflow_run_after_the_current_batch_and_keeps_what_it_learned(runner):
    job = runner.submit(TrainTask(ENDLESS))
    wait_for(lambda: training(job), "the first batch report")
    job.stop()
    wait_for(lambda: finished(job), "the stopped run", timeout=60)
    progress = job.progress()
    assert progress.state == JobState.FINISHED and progress.end.status == "stopped"
    model = load_model(progress.saved.model_path)
    assert model.record.status == "stopped"
    assert not np.array_equal(model.params, MLP.from_config(ENDLESS.model).params), "it learned something"


def test_a_tensorflow_run_waits_its_turn_and_can_be_cancelled_while_waiting(runner, store):
    first = runner.submit(TrainTask(ENDLESS))
    second, third = runner.submit(TrainTask(TINY)), runner.submit(TrainTask(TINY))
    assert [j.progress().state for j in (first, second, third)] == [
        JobState.RUNNING,
        JobState.WAITING,
        JobState.WAITING,
    ]
    second.stop()
    assert second.progress().state == JobState.CANCELLED
    wait_for(lambda: training(first), "the first run's first batch")
    first.stop()
    wait_for(lambda: finished(third), "the queued run")
    assert third.progress().state == JobState.FINISHED and second.progress().saved is None
    states = {entry.id: entry.state for entry in Journal(store.path).jobs()}
    assert states == {first.id: JobState.FINISHED, second.id: JobState.CANCELLED, third.id: JobState.FINISHED}


def test_a_worker_killed_mid_tensorflow_run_is_reported_in_words_and_replaced(runner, store):
    job = runner.submit(TrainTask(ENDLESS))
    wait_for(lambda: training(job), "the first batch report")
    [pid] = runner.worker_pids()
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: finished(job), "the dead worker to be noticed", timeout=30)
    progress = job.progress()
    assert progress.state == JobState.FAILED and "killed by SIGKILL" in progress.error
    assert store.runs() == [] and not list(store.models_dir.rglob("*.tmp")), "no half-written model"
    after = runner.submit(TrainTask(TINY))
    wait_for(lambda: finished(after), "a run after the crash")
    assert after.progress().state == JobState.FINISHED and runner.worker_pids() != [pid]
