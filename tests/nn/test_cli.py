"""The command lines, run as a person runs them: `python -m digitlab train` and `… predict`."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitlab import predict as predict_cli
from digitlab import train as train_cli
from nn import load_model
from nn.core.config import PARAMETERS
from nn.core.network import MLP
from services.locations import MODELS_DIR_ENV, RUNS_DB_ENV
from services.runs import RunStore
from tests.support.cli import digitlab

REPO = Path(__file__).resolve().parents[2]


def run_module(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=600
    )


def test_train_prints_each_epoch_and_ends_with_the_test_accuracy(tmp_path: Path) -> None:
    path = tmp_path / "models" / "quick.npz"
    done = run_module(
        "digitlab", "train", "--epochs", "2", "--train-size", "2000", "--hidden", "32", "--save", path
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stdout.strip().splitlines()
    epoch_line = re.compile(r"^epoch ([12])/2  loss \d+\.\d{4}  .*test acc (0\.\d{4}|1\.0000)  \d+\.\d{2}s$")
    epochs = [epoch_line.match(line) for line in lines if line.startswith("epoch")]
    assert [m.group(1) for m in epochs if m] == ["1", "2"], lines
    assert re.fullmatch(r"test accuracy: 0\.\d{4}", lines[-1]), lines[-1]
    model = load_model(path)
    assert model.layer_sizes == (784, 32, 10)
    assert lines[-1] == f"test accuracy: {model.record.test_accuracy:.4f}"
    assert float(lines[-1].split()[-1]) > 0.8
    assert epochs[-1].group(2) == lines[-1].split()[-1], "the last epoch's test accuracy is the final one"
    assert model.record.training.train_size == 2000 and len(model.record.history) == 2


def test_train_shows_progress_within_an_epoch_on_a_terminal_only() -> None:
    leader, follower = pty.openpty()
    with os.fdopen(leader, "rb", buffering=0) as terminal:
        done = subprocess.run(
            digitlab("train", "--epochs", "1", "--train-size", "3000", "--batch-size", "10"),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
            timeout=600,
        )
        os.close(follower)
        shown = b""
        while select.select([terminal], [], [], 0.5)[0]:
            try:
                chunk = terminal.read(65536)
            except OSError:  # the terminal closed: all was read
                break
            if not chunk:
                break
            shown += chunk
    assert done.returncode == 0
    counters = re.findall(rb"\repoch 1: (\d+)/300 batches  loss \d\.\d{4}", shown)
    assert len(counters) >= 10 and [int(c) for c in counters] == sorted(int(c) for c in counters)
    assert "batches" not in done.stdout, "the counter stays out of the output a script reads"


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--epochs", "0"], ["epochs", "greater than 0"]),
        (["--lr", "-1"], ["lr", "greater than 0"]),
        (["--lr", "nan"], ["lr", "NaN"]),
        (["--batch-size", "0"], ["batch_size", "greater than 0"]),
        (["--hidden", "128", "0"], ["hidden", "greater than 0"]),
        (["--hidden", "100000"], ["hidden", "at most 8192"]),
        (["--train-size", "2000", "--val-size", "2000"], ["val_size", "none of the 2000"]),
        (["--epochs", "0", "--lr", "0"], ["epochs", "lr"]),
        (["--optimizer", "rmsprop"], ["--optimizer", "invalid choice"]),
        (["--lr", "fast"], ["--lr", "invalid float value"]),
        (["--epochs", "2.5"], ["--epochs", "invalid int value"]),
        (["--bogus"], ["unrecognized arguments"]),
    ],
)
def test_train_rejects_bad_flags_with_a_clear_message(
    flags: list[str], words: list[str], capsys: pytest.CaptureFixture
) -> None:
    # In-process: any exception other than argparse's exit would fail the test, traceback and all.
    try:
        status = train_cli.main(flags)
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    assert status == 2
    assert "test accuracy" not in out
    for word in words:
        assert word in err


def test_train_bad_flag_from_the_shell_exits_non_zero_without_a_traceback() -> None:
    done = run_module("digitlab", "train", "--epochs", "-3", "--optimizer", "adam")
    assert done.returncode == 2
    assert done.stderr.startswith("error: epochs: must be greater than 0")
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_train_help_lists_and_explains_every_flag(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_:
        train_cli.main(["--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # undo argparse's line wrapping
    for flag in (
        "--epochs",
        "--hidden",
        "--lr",
        "--batch-size",
        "--optimizer",
        "--seed",
        "--train-size",
        "--save",
    ):
        assert flag in text
    for spec in PARAMETERS.values():
        assert spec.help.split("(")[0].strip() in text


def write_digit(path: Path, points, *, background=255, ink=0) -> Path:
    image = Image.new("L", (200, 200), background)
    ImageDraw.Draw(image).line(points, fill=ink, width=16, joint="curve")
    image.save(path)
    return path


@pytest.fixture
def images(tmp_path: Path) -> dict[str, Path]:
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    blank = tmp_path / "blank.png"
    Image.new("L", (64, 64), 255).save(blank)
    return {
        "seven": write_digit(tmp_path / "seven.png", [(50, 40), (150, 40), (80, 170)]),
        "bad": bad,
        "one": write_digit(tmp_path / "one.jpg", [(100, 30), (100, 170)], background=0, ink=255),
        "blank": blank,
        "missing": tmp_path / "missing.png",
    }


def test_predict_classifies_each_file_and_reports_the_bad_ones(model_file: Path, images: dict) -> None:
    done = run_module("digitlab", "predict", "--model", model_file, *images.values())
    assert done.returncode == 1, "a file could not be classified"
    assert "Traceback" not in done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2
    assert re.fullmatch(rf"{re.escape(str(images['seven']))}: 7 \((0\.\d\d|1\.00)\)", lines[0]), lines[0]
    assert re.fullmatch(rf"{re.escape(str(images['one']))}: 1 \((0\.\d\d|1\.00)\)", lines[1]), lines[1]
    errors = done.stderr.strip().splitlines()
    assert errors[0].startswith(f"{images['bad']}: error: ") and "not a readable image" in errors[0]
    assert errors[1].startswith(f"{images['blank']}: error: ") and "empty" in errors[1]
    assert errors[2].startswith(f"{images['missing']}: error: ") and "no such file" in errors[2]


def test_predict_json_output_parses(model_file: Path, images: dict, capsys: pytest.CaptureFixture) -> None:
    status = predict_cli.main(["--model", str(model_file), "--json", *map(str, images.values())])
    assert status == 1
    results = json.loads(capsys.readouterr().out)
    assert [r["path"] for r in results] == [str(p) for p in images.values()]
    seven, bad, one, blank, missing = results
    assert (seven["digit"], one["digit"]) == (7, 1)
    for result in (seven, one):
        assert len(result["probabilities"]) == 10
        assert sum(result["probabilities"]) == pytest.approx(1.0, abs=2e-3)
        assert result["confidence"] == max(result["probabilities"])
        assert int(np.argmax(result["probabilities"])) == result["digit"]
    for result in (bad, blank, missing):
        assert set(result) == {"path", "error"} and result["error"]


def test_predict_succeeds_when_every_file_is_a_digit(model_file: Path, images: dict) -> None:
    assert predict_cli.main(["--model", str(model_file), str(images["seven"]), str(images["one"])]) == 0


def test_predict_refuses_a_missing_or_bogus_model(tmp_path: Path, images: dict) -> None:
    bogus = tmp_path / "bogus.npz"
    bogus.write_text("weights? no")
    for model in (tmp_path / "none.npz", bogus):
        done = run_module("digitlab", "predict", "--model", model, images["seven"])
        assert done.returncode == 2
        assert done.stderr.startswith("error: ") and str(model) in done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""


def test_predict_without_a_model_uses_the_active_one_and_says_which(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    model_file: Path,
    images: dict,
    capsys: pytest.CaptureFixture,
) -> None:
    models = tmp_path / "models"
    monkeypatch.setenv(MODELS_DIR_ENV, str(models))
    monkeypatch.setenv(RUNS_DB_ENV, str(tmp_path / "runs.sqlite"))
    seven = str(images["seven"])
    assert predict_cli.main([seven]) == 2
    assert capsys.readouterr().err == (
        f"error: there is no model in {models} yet: train one (python -m digitlab train) or give --model\n"
    )
    shipped = models / "default.npz"
    models.mkdir()
    shutil.copy(model_file, shipped)
    assert predict_cli.main([seven]) == 0
    out, err = capsys.readouterr()
    assert err == f"using the active model: {shipped}\n" and re.fullmatch(
        rf"{re.escape(seven)}: 7 \(.*\)\n", out
    )
    store = RunStore()
    run = store.add(MLP((8,), seed=0), source="cli", name="untrained")
    assert predict_cli.main([seven]) == 0  # the newest run, as the sidebar would start with it
    assert capsys.readouterr().err == f"using the active model: run {run.id} “untrained” ({run.model_path})\n"
    store.set_active(shipped)
    assert predict_cli.main([seven]) == 0
    assert capsys.readouterr().err == f"using the active model: {shipped}\n"
    assert predict_cli.main(["--model", str(run.model_path), seven]) == 0
    assert capsys.readouterr().err == "", "a model given is used without a word"


def test_predict_without_images_is_a_usage_error(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_:
        predict_cli.main(["--model", "m.npz"])
    assert exit_.value.code == 2
    assert "IMAGE" in capsys.readouterr().err


def test_ctrl_c_stops_after_the_current_batch_and_still_saves_the_model(tmp_path: Path) -> None:
    path = tmp_path / "interrupted.npz"
    command = digitlab("train", "--epochs", "500", "--train-size", "5000", "--save", path)
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first_epoch = process.stdout.readline()  # blocks until an epoch has been trained
        assert first_epoch.startswith("epoch   1/500"), first_epoch
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "stopping after this batch" in err and "Traceback" not in err
    assert out.strip().splitlines()[-1].startswith("test accuracy: ")
    model = load_model(path)
    assert model.record.status == "stopped" and 1 <= model.record.epochs_done < 500
    assert model.record.test_accuracy > 0.5  # it learned (chance is 0.1) and kept what it learned
