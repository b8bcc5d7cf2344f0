"""A run killed half-way goes on from its last checkpoint and ends exactly where it would have.

Real processes: `digitlab train` is SIGKILLed after an epoch, and `digitlab train --resume` goes
on in a fresh one. Both use one BLAS thread, so the same matrix products round the same way.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest

from nn.core.persistence import load_model
from services.job_states import JobState
from services.journal import Journal
from tests.support.cli import digitlab

REPO = Path(__file__).resolve().parents[2]
SMALL = ("--epochs", "4", "--train-size", "2000", "--hidden", "16", "--batch-size", "50")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A run store of the test's own, and one BLAS thread for every process."""
    return os.environ | {
        "DIGITLAB_RUNS_DB": str(tmp_path / "runs.sqlite"),
        "DIGITLAB_MODELS_DIR": str(tmp_path / "models"),
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
    }


def train(env: dict[str, str], *flags: str) -> subprocess.CompletedProcess:
    command = digitlab("train", *flags)
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def kill_after_epoch(env: dict[str, str], epoch: int, *flags: str) -> str:
    """Start a run and SIGKILL it once it has reported `epoch`; what it printed."""
    command = digitlab("train", *flags)
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    printed = []
    for line in process.stdout:
        printed.append(line)
        if line.startswith(f"epoch {epoch}/"):
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    process.stdout.close()
    assert process.returncode == -signal.SIGKILL, "".join(printed)
    return "".join(printed)


@pytest.mark.parametrize(
    "recipe",
    [
        ("--optimizer", "sgd", "--lr", "0.1"),
        ("--optimizer", "sgd", "--lr", "0.1", "--augment", "affine"),
        ("--optimizer", "momentum"),
        ("--optimizer", "momentum", "--augment", "elastic"),
        ("--optimizer", "adam", "--lr", "0.003"),
        ("--optimizer", "adam", "--lr", "0.003", "--augment", "pen", "--weight-decay", "0.001"),
    ],
    ids=["sgd", "sgd-affine", "momentum", "momentum-elastic", "adam", "adam-pen-l2"],
)
def test_a_killed_run_resumed_in_a_fresh_process_ends_with_the_same_weights_bit_for_bit(
    env: dict[str, str], tmp_path: Path, recipe: tuple[str, ...]
) -> None:
    straight = train(env, *SMALL, *recipe, "--save", str(tmp_path / "straight.npz"))
    assert straight.returncode == 0, straight.stderr

    kill_after_epoch(env, 2, *SMALL, *recipe)
    resumed = train(env, "--resume", "--save", str(tmp_path / "resumed.npz"))
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.startswith("resuming job 2 after epoch 2 of 4\nepoch 3/4"), resumed.stdout

    expected, got = load_model(tmp_path / "straight.npz"), load_model(tmp_path / "resumed.npz")
    np.testing.assert_array_equal(got.params, expected.params)
    assert [e.loss for e in got.record.history] == [e.loss for e in expected.record.history]
    assert got.record.training == expected.record.training and got.record.epochs_done == 4

    journal = Journal(env["DIGITLAB_RUNS_DB"])
    assert [e.state for e in journal.jobs()] == [JobState.FINISHED, JobState.RESUMED, JobState.FINISHED]
    assert not list((tmp_path / "checkpoints").iterdir()), "a finished run's checkpoint is deleted"


def test_resume_names_a_job_and_says_plainly_when_there_is_nothing_to_resume(env, tmp_path) -> None:
    nothing = train(env, "--resume")
    assert nothing.returncode == 2 and "no interrupted run to resume" in nothing.stderr
    kill_after_epoch(env, 1, *SMALL)
    kill_after_epoch(env, 1, *SMALL, "--lr", "0.05")
    wrong = train(env, "--resume", "7")
    assert wrong.returncode == 2 and "(interrupted jobs: 2, 1)" in wrong.stderr
    older = train(env, "--resume", "1")
    assert older.returncode == 0 and older.stdout.startswith("resuming job 1 after epoch 1 of 4")


def test_a_damaged_checkpoint_is_reported_in_words(env, tmp_path) -> None:
    kill_after_epoch(env, 1, *SMALL)
    (tmp_path / "checkpoints" / "job-1.npz").write_bytes(b"not a checkpoint")
    refused = train(env, "--resume")
    assert refused.returncode == 2
    assert "job 1 cannot be resumed: the checkpoint" in refused.stderr and "Traceback" not in refused.stderr
