"""The sweep command line, run as a person runs it: `python -m digitlab sweep`."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from nn.core.config import PARAMETERS
from services.locations import MODELS_DIR_ENV, RUNS_DB_ENV
from services.runs import RunStore
from services.sweep_store import SweepStore
from services.sweeps import HONEST_CHOICE
from tests.support.cli import digitlab

REPO = Path(__file__).resolve().parents[2]
SMALL = ("--hidden", "16", "--train-size", "500", "--val-size", "100", "--epochs", "1", "--workers", "2")


def sweep(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {RUNS_DB_ENV: str(tmp_path / "runs.sqlite"), MODELS_DIR_ENV: str(tmp_path / "models")}
    return subprocess.run(
        digitlab("sweep", *args),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_help_explains_the_sweep_and_offers_every_training_flag(tmp_path) -> None:
    done = sweep(tmp_path, "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    for name in PARAMETERS:
        assert "--" + name.replace("_", "-") in text
    assert "--hidden 64 --hidden 128 64" in text and "--scheduler" in text
    assert "validation accuracy" in text and "test accuracy of that run only" in text
    assert "seed (it decides which images are held out for validation)" in text


def test_a_small_grid_prints_a_line_per_run_a_ranked_table_and_the_best_runs_test_accuracy(tmp_path) -> None:
    done = sweep(tmp_path, "--lr", "0.03", "0.3", "--hidden", "16", "--hidden", "8", *SMALL[2:])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert re.fullmatch(
        r"sweep 1: lr × hidden \(2 × 2 runs\) on this machine \(2 worker processes\)", lines[0]
    )
    finished = [line for line in lines if line.startswith("[")]
    pattern = (
        r"\[[1-4]/4\] finished   lr (0\.03|0\.3) · hidden (16|8)  val acc \d+\.\d\d%  1 epoch  \d+ s  run \d+"
    )
    assert len(finished) == 4 and all(re.fullmatch(pattern, line) for line in finished), finished
    header = lines.index(next(line for line in lines if line.startswith("rank")))
    assert lines[header].split() == ["rank", "lr", "hidden", "val", "acc", "epochs", "time", "run", "status"]
    table = [line.split() for line in lines[header + 1 : header + 5]]
    accuracies = [float(row[3].rstrip("%")) for row in table]
    assert accuracies == sorted(accuracies, reverse=True) and [row[0] for row in table] == [
        "1",
        "2",
        "3",
        "4",
    ]
    store = RunStore(tmp_path / "runs.sqlite", tmp_path / "models")
    runs = store.runs_by_id([int(row[7]) for row in table])
    assert [f"{runs[int(row[7])].history[-1].val_accuracy:.2%}" for row in table] == [row[3] for row in table]
    best = runs[int(table[0][7])]
    assert lines[-2] == (
        f"best: lr {table[0][1]} · hidden {table[0][2]} — validation accuracy {table[0][3]}, "
        f"test accuracy {best.test_accuracy:.2%} (run {best.id})"
    )
    assert lines[-1] == HONEST_CHOICE
    assert sum("test accuracy" in line for line in lines[:-1]) == 1  # no other run's test accuracy
    [record] = SweepStore(store.path).sweeps()
    assert record.id == 1 and len(record.job_ids) == 4 and {r.source for r in runs.values()} == {"sweep"}
    # --hidden is the network's own setting, --lr its training's; the fixed flags reach both
    assert {(r.config.model.hidden, r.config.training.lr) for r in runs.values()} == {
        (hidden, lr) for hidden in ((16,), (8,)) for lr in (0.03, 0.3)
    }
    assert {(r.config.training.train_size, r.config.training.val_size) for r in runs.values()} == {(500, 100)}


def test_a_run_that_diverges_makes_the_exit_status_1(tmp_path) -> None:
    done = sweep(tmp_path, "--lr", "0.05", "10", "--optimizer", "sgd", *SMALL)
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(r"\] finished   lr 0\.05  val acc", done.stdout)
    assert re.search(r"\] (finished  |diverged after 0 epochs) lr 10  — ", done.stdout), done.stdout


def test_bad_flags_are_refused_with_exit_status_2_and_nothing_trained(tmp_path) -> None:
    for args, message in [
        (("--lr", "0.1", "0.2"), "set the number of validation images (val_size) above 0"),
        (("--lr", "0.1", "--val-size", "100"), "nothing to sweep"),
        (("--seed", "1", "2", "--val-size", "100"), "seed cannot be swept"),
        (("--lr", "0.1", "20", "--val-size", "100"), "lr 20: must be at most 10"),
        (("--lr", "0.1", "0.2", "--val-size", "100", "--scheduler", "tcp://127.0.0.1:9"), "cannot reach"),
    ]:
        done = sweep(tmp_path, *args)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.startswith("error: ") and message in done.stderr, done.stderr
    assert not list((tmp_path / "models").rglob("*.npz"))
