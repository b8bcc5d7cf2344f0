"""The cores the rest of the machine leaves a worker, and the BLAS threads a worker then uses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from multiprocessing import Pipe
from pathlib import Path

import pytest
from threadpoolctl import ThreadpoolController

from services import spare_cores
from services.spare_cores import WINDOW_SECONDS, SpareCores
from services.worker import Places, Worker

pytestmark = pytest.mark.skipif(not Path("/proc/stat").exists(), reason="measured from Linux's /proc/stat")


class Readings:
    """The two clocks SpareCores reads, moved by hand: (machine busy, own busy) seconds at a time."""

    def __init__(self, monkeypatch):
        self.time, self.machine, self.own = 100.0, 50.0, 5.0
        monkeypatch.setattr(spare_cores.time, "monotonic", lambda: self.time)
        monkeypatch.setattr(spare_cores, "machine_busy_seconds", lambda: self.machine)
        monkeypatch.setattr(spare_cores, "own_busy_seconds", lambda: self.own)

    def advance(self, seconds: float, own_cores: float, others_cores: float) -> None:
        self.time += seconds
        self.own += own_cores * seconds
        self.machine += (own_cores + others_cores) * seconds


def test_a_core_is_free_while_others_use_little_of_it_and_the_process_own_use_never_counts(
    monkeypatch,
):
    clock = Readings(monkeypatch)
    spare = SpareCores(cores=2)
    assert spare.now() is None  # nothing measured yet
    clock.advance(WINDOW_SECONDS / 2, own_cores=2.0, others_cores=0.12)
    assert spare.now() is None  # not a full window yet
    clock.advance(WINDOW_SECONDS / 2, own_cores=2.0, others_cores=0.12)
    assert spare.now() == 2  # a page streaming beside a lone run: both cores
    clock.advance(WINDOW_SECONDS, own_cores=1.0, others_cores=0.6)
    assert spare.now() == 1  # someone browsing: one core left
    clock.advance(WINDOW_SECONDS, own_cores=0.0, others_cores=2.0)
    assert spare.now() == 1  # never none: the run must go on
    clock.advance(WINDOW_SECONDS, own_cores=1.9, others_cores=0.05)
    assert spare.now() == 2  # free again


def test_where_the_machine_does_not_say_nothing_is_measured(monkeypatch):
    clock = Readings(monkeypatch)
    monkeypatch.setattr(spare_cores, "machine_busy_seconds", lambda: None)
    spare = SpareCores(cores=4)
    clock.advance(2 * WINDOW_SECONDS, own_cores=1.0, others_cores=0.0)
    assert spare.now() is None


@pytest.fixture
def spinner():
    """Another process keeping one core busy."""
    process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(0.2)  # started
    yield process
    process.kill()
    process.wait()


def test_a_busy_neighbour_takes_a_core_from_a_worker_s_blas(spinner, tmp_path):
    cores = os.cpu_count() or 1
    blas = ThreadpoolController()
    if not blas.select(user_api="blas"):
        pytest.skip("no BLAS library to limit")
    original = blas.limit(limits=cores, user_api="blas")  # restored below, for the other tests
    try:
        worker = Worker(Pipe()[0], cores, Places(tmp_path / "runs.sqlite", tmp_path, tmp_path))
        time.sleep(WINDOW_SECONDS * 1.2)
        worker.apply_threads()
        used = blas.select(user_api="blas").info()[0]["num_threads"]
        assert used == worker.spare.free <= max(1, cores - 1)  # the server offered all of them
    finally:
        original.restore_original_limits()
