"""A Dask cluster started the way the README tells a person to: the `dask` command, separate
processes, started outside the checkout with no PYTHONPATH, finding Digit Lab through the
project's own environment (the editable install the set-up makes).

The other cluster tests use an in-process `LocalCluster`, which shares the test's `sys.path` and
so could not see that a scheduler started from a shell cannot import the project: current Dask
unpickles the task graph on the scheduler too.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nn.core.config import RunConfig
from services.cluster import DaskRunner
from services.job_states import JobState
from services.runs import RunStore
from services.tasks import TrainTask
from tests.support.cli import digitlab

REPO = Path(__file__).resolve().parents[2]
DASK = Path(sys.executable).parent / "dask"  # as the README runs it: .venv/bin/dask
TIMEOUT = 240
GRID = ("--hidden", "32", "--hidden", "64", "--epochs", "2", "--train-size", "3000", "--val-size", "500")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the scheduler exited"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listened on port {port} within {timeout} s")


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`dask scheduler` and `dask worker … --nworkers 2 --nthreads 1`, from a folder outside the checkout."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"cwd": elsewhere, "env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [
        subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet
        )
    ]
    try:
        wait_for_port(port, processes[0])
        processes.append(
            subprocess.Popen(
                [DASK, "worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard"], **quiet
            )
        )
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def test_the_sweep_command_runs_on_a_cluster_started_with_the_dask_command(scheduler: str) -> None:
    done = subprocess.run(
        digitlab("sweep", "--scheduler", scheduler, "--lr", "0.03", "0.1", *GRID),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "deserialization" not in done.stdout + done.stderr
    assert done.stdout.count("] finished") == 4, done.stdout


def test_a_train_page_run_trains_on_that_cluster_and_is_saved_here(scheduler: str, tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.sqlite", tmp_path / "models")
    runner = DaskRunner(scheduler, store=store, user_digits_dir=tmp_path / "digits")
    try:
        config = RunConfig.from_values(dict(hidden=(16,), epochs=2, train_size=1000, val_size=100))
        job = runner.submit(TrainTask(config))
        assert job.over.wait(TIMEOUT), "the run did not end"
        progress = job.progress()
        assert progress.state is JobState.FINISHED, progress.error
        assert [epoch.epoch for epoch in progress.epochs] == [1, 2]
        assert store.get(progress.saved.id).model_path.is_file()
    finally:
        runner.shutdown()
