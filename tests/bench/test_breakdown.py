"""The epoch breakdown: every part of a real training step is timed, and the parts add up."""

from __future__ import annotations

import contextlib
import io
import re

import pytest

from bench.breakdown import main

PART = re.compile(r"^(?P<part>.+?)\s+(?P<ms>[\d.]+)\s+(?P<share>\d+)%$")


@pytest.fixture(scope="module")
def printed() -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--batch-size", "4096", "--epochs", "1"]) == 0
    return out.getvalue()


def test_every_part_of_the_step_is_timed_and_they_add_up(printed: str) -> None:
    parts = {m["part"]: float(m["ms"]) for m in map(PART.match, printed.splitlines()) if m}
    layers = ["Dense 1", "ReLU 1", "Dense 2", "ReLU 2", "Dense 3"]
    assert set(parts) == {
        "batch: gather, uint8 → float32",
        "softmax cross-entropy",
        "optimizer update",
        *(f"{layer} {direction}" for layer in layers for direction in ("forward", "backward")),
    }
    assert all(ms > 0 for ms in parts.values())
    epoch = float(re.search(r"^the whole epoch\s+([\d.]+)$", printed, re.M)[1])
    assert sum(parts.values()) == pytest.approx(epoch, abs=0.1 * len(parts))


def test_the_floor_is_read_beside_the_epoch(printed: str) -> None:
    epoch = float(re.search(r"^the whole epoch\s+([\d.]+)$", printed, re.M)[1])
    found = re.search(r"^GEMM floor: ([\d.]+) ms; the epoch is ([\d.]+) × the floor$", printed, re.M)
    floor, ratio = found.groups()
    assert 0 < float(floor) < epoch
    assert float(ratio) == pytest.approx(epoch / float(floor), rel=0.01)
    products = r"^the Dense layers' products alone: [\d.]+ ms \(the layers took [\d.]+\)$"
    assert re.search(products, printed, re.M)
