"""The command line and the app's workers record runs into one store at the same time, losing nothing."""

from __future__ import annotations

import os
import subprocess

from nn.core.config import RunConfig
from nn.core.persistence import load_model
from services.job_states import JobState
from services.jobs import JobRunner
from services.locations import ROOT
from services.runs import RunStore
from services.tasks import TrainTask
from tests.support.cli import digitlab

TIMEOUT = 300


def test_the_cli_and_two_workers_recording_at_once_leave_a_consistent_store(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite", tmp_path / "models")
    env = {**os.environ, "DIGITLAB_RUNS_DB": str(store.path), "DIGITLAB_MODELS_DIR": str(store.models_dir)}
    command = digitlab("train", "--epochs", "1", "--train-size", "300", "--hidden", "8")
    runner = JobRunner(2, cores=2, store=store, user_digits_dir=tmp_path / "digits")
    try:
        jobs = [
            runner.submit(
                TrainTask(RunConfig.from_values(dict(hidden=(8,), epochs=1, train_size=300, seed=s)))
            )
            for s in (1, 2)
        ]
        clis = [
            subprocess.Popen([*command, "--seed", str(s)], cwd=ROOT, env=env, stdout=subprocess.PIPE)
            for s in (3, 4)
        ]
        assert all(job.join(TIMEOUT) for job in jobs)
        assert all(cli.wait(TIMEOUT) == 0 for cli in clis)
    finally:
        runner.shutdown()
    assert [job.progress().state for job in jobs] == [JobState.FINISHED, JobState.FINISHED]
    runs = store.runs()
    assert sorted(run.source for run in runs) == ["app", "app", "cli", "cli"]
    assert len({run.model_path for run in runs}) == 4
    assert sorted(store.model_dir.glob("*.npz")) == sorted(run.model_path for run in runs)
    for run in runs:
        assert load_model(run.model_path).layer_sizes == (784, 8, 10)
    assert not list(store.models_dir.rglob("*.tmp"))
