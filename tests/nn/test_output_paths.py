"""A trained model is never lost to an output path that cannot be written (`digitlab train --save`)."""

from __future__ import annotations

import errno
import subprocess
import time
from pathlib import Path

import pytest

from digitlab import train as train_cli
from nn import load_model
from nn.core.errors import OutputPathError
from nn.core.persistence import check_writable
from services.runs import RunStore
from tests.support.cli import digitlab

REPO = Path(__file__).resolve().parents[2]
QUICK = ["--epochs", "1", "--train-size", "100", "--hidden", "8"]


def run_train(*args: str | Path) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    done = subprocess.run(
        digitlab("train", *args),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done, time.monotonic() - start


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        (Path("/proc/x.npz"), "/proc does not take new files"),  # a folder that refuses files, even to root
        (REPO / "README.md" / "x.npz", "README.md is a file, not a folder"),  # a missing folder under a file
        (REPO / "nn", "it is a folder"),  # directory-shaped
    ],
)
def test_a_bad_save_path_is_refused_before_training_with_one_line(target: Path, reason: str) -> None:
    runs_before = len(RunStore().runs())
    done, _ = run_train(*QUICK, "--save", target)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot write {target}: ")
    assert reason in done.stderr and "Traceback" not in done.stderr
    assert "epoch" not in done.stdout, "it must fail before any training"
    assert len(RunStore().runs()) == runs_before, "nothing is recorded"


def test_a_missing_folder_that_can_be_created_is_fine(tmp_path: Path) -> None:
    target = tmp_path / "new" / "deeper" / "model.npz"
    assert check_writable(target) == target and not target.parent.exists()  # checking creates nothing
    done, _ = run_train(*QUICK, "--save", target)
    assert done.returncode == 0, done.stderr
    assert load_model(target).layer_sizes == (784, 8, 10)


def test_the_check_is_quick_and_creates_nothing(tmp_path: Path) -> None:
    start = time.monotonic()
    with pytest.raises(OutputPathError, match="it is a folder"):
        check_writable(tmp_path)
    assert time.monotonic() - start < 1
    assert list(tmp_path.iterdir()) == []


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_save_that_fails_at_the_end_keeps_the_model_in_the_runs_folder(tmp_path, monkeypatch, capsys):
    target = tmp_path / "mine.npz"
    monkeypatch.setattr(train_cli, "save_model", no_space)  # the --save write fails; the store's does not
    assert train_cli.main([*QUICK, "--save", str(target)]) == 1
    err = capsys.readouterr().err
    assert f"error: could not write {target}: No space left on device" in err
    [run] = RunStore().runs()[:1]
    assert f"the trained model is kept at {run.model_path}" in err
    assert load_model(run.model_path).layer_sizes == (784, 8, 10)
    assert "Traceback" not in err and not target.exists()


def test_when_every_write_fails_the_model_goes_to_a_temporary_file(tmp_path, monkeypatch, capsys):
    runs_before = len(RunStore().runs())
    real_save = train_cli.save_model
    monkeypatch.setattr(RunStore, "add", no_space)  # the run store's disk is full too
    monkeypatch.setattr(
        train_cli,
        "save_model",
        lambda model, path: no_space() if path == tmp_path / "mine.npz" else real_save(model, path),
    )
    assert train_cli.main([*QUICK, "--save", str(tmp_path / "mine.npz")]) == 1
    err = capsys.readouterr().err
    assert "warning: the run was not recorded: No space left on device" in err
    kept = Path(err.split("the trained model is kept at ")[1].split()[0])
    assert kept.name.startswith("digitlab-model-") and load_model(kept).layer_sizes == (784, 8, 10)
    kept.unlink()
    assert len(RunStore().runs()) == runs_before
