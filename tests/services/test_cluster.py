"""Runs on a Dask cluster: a real `LocalCluster` (a scheduler and two worker processes), no mocks."""

from __future__ import annotations

import os
import signal

import msgpack
import numpy as np
import pytest
from distributed import LocalCluster

from nn.core.config import RunConfig
from nn.core.events import BatchProgress, EpochEnd
from nn.core.persistence import load_model
from services import cluster as cluster_module
from services.cluster import ClusterError, DaskRunner
from services.job_states import JobState
from services.messages import Features, Started, Trained
from services.runs import RunStore
from services.sweep_store import SweepStore
from services.sweeps import Axis, Grid, start
from services.tasks import TrainTask
from tests.support.jobs import TIMEOUT, wait_for

TINY = RunConfig.from_values(dict(hidden=(16,), epochs=2, train_size=500, val_size=100, seed=1))
ENDLESS = RunConfig.from_values(
    dict(hidden=(16,), epochs=1000, train_size=2000, val_size=100, batch_size=1, lr=0.01)
)


@pytest.fixture(scope="module")
def cluster():
    """One cluster for the module: it takes a few seconds to start."""
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
    ) as cluster:
        yield cluster


@pytest.fixture
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "runs.sqlite", tmp_path / "models")


@pytest.fixture
def runner(cluster, store, tmp_path):
    runner = DaskRunner(cluster.scheduler_address, store=store, user_digits_dir=tmp_path / "digits")
    yield runner
    runner.shutdown()


def test_a_sweep_on_the_cluster_records_every_returned_model_in_the_apps_store(runner, store) -> None:
    grid = Grid(TINY, (Axis("lr", (0.03, 0.3)), Axis("hidden", ((16,), (8,)))))
    sweep = start(grid, runner, SweepStore(store.path))
    seen_waiting = any(row.state == JobState.WAITING for row in sweep.view().rows)
    assert sweep.join(TIMEOUT)
    view = sweep.view()
    assert seen_waiting  # four runs, two workers: the queue is the cluster's
    assert [row.state for row in view.rows] == [JobState.FINISHED] * 4, [row.message for row in view.rows]
    for row, point in zip(view.rows, grid.points()):
        assert [e.epoch for e in row.history] == [1, 2]  # progress came back through the events
        run = row.run
        assert run.source == "sweep" and run.details.sweep_point.sweep_id == sweep.id
        assert run.model_path.parent == store.model_dir  # recorded here, by the app's store
        model = load_model(run.model_path)
        assert model.layer_sizes == (784, *point["hidden"], 10)
        assert model.config.hidden == point["hidden"] and model.record.training.lr == point["lr"]
        assert model.record.history[-1].val_accuracy == row.val_accuracy
    assert sorted(store.model_dir.glob("*.npz")) == sorted(row.run.model_path for row in view.rows)
    assert view.best() is view.ranked()[0] and view.place == f"the Dask cluster at {runner.address}"
    jobs = runner.journal.jobs()
    assert {j.state for j in jobs} == {JobState.FINISHED}
    assert {j.place for j in jobs} == {runner.address}
    assert all(
        job.progress().features.shape == (16 if p["hidden"] == (16,) else 8, 28, 28)
        for job, p in zip(sweep.jobs, grid.points())
    )


def test_a_worker_killed_mid_run_fails_that_run_in_words_and_the_others_finish(
    runner, store, cluster
) -> None:
    doomed = runner.submit(TrainTask(ENDLESS, source="sweep", activate=False))
    wait_for(lambda: doomed.progress().batch is not None, "the doomed run's first batch report")
    others = [runner.submit(TrainTask(RunConfig.from_values(TINY.values() | {"seed": s}))) for s in (2, 3)]
    [remote] = [r for r in runner.remotes.values() if r.job is doomed]
    pids = runner.client.run(os.getpid)
    os.kill(pids[remote.worker], signal.SIGKILL)
    wait_for(lambda: not doomed.running, "the lost worker to be noticed", timeout=30)
    progress = doomed.progress()
    assert progress.state == JobState.FAILED
    assert f"The Dask worker {remote.worker} running this run was lost mid-run" in progress.error
    assert "Nothing of this run was saved" in progress.error and progress.saved is None
    for job in others:
        assert job.join(TIMEOUT)
        assert job.progress().state == JobState.FINISHED and job.progress().saved is not None
    states = {entry.id: (entry.state, entry.message) for entry in runner.journal.jobs()}
    assert states[doomed.id] == (JobState.FAILED, progress.error)
    wait_for(lambda: len(runner.workers()) == 2, "the nanny to restart the worker", timeout=60)


def test_stop_ends_a_cluster_run_after_its_batch_and_keeps_the_model(runner) -> None:
    job = runner.submit(TrainTask(ENDLESS, activate=False))
    wait_for(
        lambda: job.progress().state == JobState.RUNNING and job.progress().batch is not None,
        "a batch report",
    )
    job.stop()
    assert job.join(60)
    progress = job.progress()
    assert progress.state == JobState.FINISHED and progress.end.status == "stopped"
    assert load_model(progress.saved.model_path).record.status == "stopped"


def test_a_sweep_across_both_engines_runs_on_the_cluster_and_says_where_each_trained(runner, store) -> None:
    grid = Grid(TINY, (Axis("engine", ("numpy", "tensorflow")),))
    sweep = start(grid, runner, SweepStore(store.path))
    assert sweep.join(TIMEOUT)
    rows = sweep.view().rows
    assert [row.state for row in rows] == [JobState.FINISHED] * 2, [row.message for row in rows]
    records = [load_model(row.run.model_path).record for row in rows]
    assert [r.training.engine for r in records] == ["numpy", "tensorflow"]
    assert [job.progress().device for job in sweep.jobs] == [r.device for r in records]
    assert records[0].device == "NumPy on the CPU" and records[1].device.startswith("TensorFlow 2.")
    # The same settings, the same batches, the same update rule: nearly the same network.
    assert abs(rows[0].val_accuracy - rows[1].val_accuracy) <= 0.03


class Scheduler:
    """Stands in for a Dask worker's `log_event` and the scheduler behind it: keeps what a task
    logs on a topic as msgpack carries it to the client."""

    def __init__(self) -> None:
        self.received: list[tuple[str, object]] = []

    def log_event(self, topic: str, message: object) -> None:
        self.received.append((topic, msgpack.unpackb(msgpack.packb(message))))


def test_a_task_reports_in_a_local_workers_messages_pickled_with_batches_thinned() -> None:
    scheduler = Scheduler()
    send = cluster_module._reporter(scheduler, "digitlab-topic", 7)
    batches = [BatchProgress(1, 2, b, 10, 0.5) for b in (1, 2)]
    epoch = EpochEnd(1, 2, 0.4, 0.9, 0.88, 0.89, 1.5, 0.07)
    for report in (Started("tcp://10.0.0.5:4000"), Trained(batches[0]), Trained(batches[1])):
        send(report)
    send(Features(np.zeros((16, 28, 28))))  # too big for the scheduler: drawn from the returned model
    send(Trained(epoch))
    assert {topic for topic, _ in scheduler.received} == {"digitlab-topic"}
    reports = [cluster_module._report(message) for _, message in scheduler.received]
    # The second batch came within half a second of the first: dropped, as the page needs no more.
    assert reports == [(7, Started("tcp://10.0.0.5:4000")), (7, Trained(batches[0])), (7, Trained(epoch))]


def test_an_unreachable_scheduler_is_reported_in_words(store, tmp_path) -> None:
    with pytest.raises(ClusterError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"):
        DaskRunner("tcp://127.0.0.1:9", store=store, user_digits_dir=tmp_path / "digits", timeout=2)
