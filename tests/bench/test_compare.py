"""The benchmark's quick mode: real nn/ training in worker processes, summarised in one table.

No timing is asserted (the machine is shared and noisy); what is checked is that the numbers are
measured, not made up: positive times, a test accuracy only training can reach, a real process
footprint, and a GEMM floor consistent with the FLOPs it is computed from.
"""

from __future__ import annotations

import contextlib
import io
import json
import re

import pytest

from bench.compare import main
from bench.floor import epoch_flops

ROW = re.compile(
    r"^\| (?P<label>[^|]+?) \| (?P<batch>\d+) \| (?P<seconds>[\d.]+)\*? \| (?P<ratio>[\d.]+) \| "
    r"(?P<accuracy>[\d.]+) \| (?P<rss>\d+) \|$"
)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    raw = tmp_path_factory.mktemp("bench") / "runs.json"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["--quick", "--per-sample-size", "300", "--json", str(raw)]) == 0
    return printed.getvalue(), json.loads(raw.read_text())


def test_quick_mode_prints_one_row_per_configuration(quick_run) -> None:
    printed, _ = quick_run
    rows = [m.groupdict() for m in map(ROW.match, printed.splitlines()) if m]
    assert [(r["label"], r["batch"]) for r in rows] == [
        ("nn/", "64"),
        ("nn/", "256"),
        ("nn/, per sample", "1"),
        ("naive NumPy, float64", "1"),
    ]
    assert "| contender | batch | s/epoch (median) | × nn/ time | test acc | peak RSS MB |" in printed
    assert re.search(r"^date: \d{4}-\d\d-\d\d \d\d:\d\d UTC$", printed, re.M)
    assert re.search(r"^machine: .+, \d+ cores", printed, re.M)
    nn_row = rows[0]
    assert float(nn_row["ratio"]) == 1.0
    assert float(nn_row["accuracy"]) > 0.9, "two epochs on 10,000 images reach over 90 %"
    assert all(float(r["seconds"]) > 0 and int(r["rss"]) > 20 for r in rows)
    for per_sample in rows[2:]:
        assert float(per_sample["accuracy"]) > 0.5, "one pass over 300 images already learns something"


def test_raw_numbers_are_the_workers_measurements(quick_run) -> None:
    _, raw = quick_run
    runs = {(r["contender"], r["batch_size"]): r for r in raw["runs"]}
    assert set(runs) == {("nn", 64), ("floor", 64), ("nn", 256), ("floor", 256), ("nn", 1), ("naive", 1)}
    nn_run = runs[("nn", 64)]
    assert nn_run["train_size"] == 10_000 and len(nn_run["epoch_seconds"]) == 2
    assert all(s > 0 for s in nn_run["epoch_seconds"])
    # Scaled to a full epoch: the table's time is the timed epoch × 60000 / 10000.
    row = next(r for r in raw["rows"] if r["label"] == "nn/")
    assert row["epoch_seconds"] == nn_run["epoch_seconds"][1:] and row["scale"] == 6.0


FLOOR_ROW = re.compile(
    r"^\| (?P<batch>\d+) \| (?P<seconds>[\d.]+) \| (?P<floor>[\d.]+) \| (?P<gflops>\d+) \| "
    r"(?P<ratio>[\d.]+) \| (?P<products>[\d.]+) \|$"
)


def test_floor_is_measured_after_each_nn_run_and_compared_with_it(quick_run) -> None:
    printed, raw = quick_run
    assert epoch_flops((784, 128, 64, 10), 60_000) == 2 * 60_000 * (2 * 109_184 + 8_832)
    floors = {r["batch_size"]: r for r in raw["runs"] if r["contender"] == "floor"}
    rows = {int(m["batch"]): m for m in map(FLOOR_ROW.match, printed.splitlines()) if m}
    assert set(rows) == set(floors) == {64, 256}
    for batch, row in rows.items():
        rate = floors[batch]["gemm_flops_per_second"]
        assert rate > 1e9, "any CPU of this decade multiplies float32 matrices at over a GFLOP/s"
        assert float(row["floor"]) == pytest.approx(27.26e9 / rate, abs=0.001)
        assert float(row["ratio"]) == pytest.approx(float(row["seconds"]) / float(row["floor"]), rel=0.02)
        products = floors[batch]["products_seconds"]
        assert products > 0
        assert float(row["products"]) == pytest.approx(products / float(row["floor"]), rel=0.02)
    best = min(rows.values(), key=lambda r: float(r["ratio"]))
    assert f"nn/ at its best batch size ({best['batch']}) is {best['ratio']} × the floor" in printed
