"""One training by any engine, timed from the events it yields (`bench.engines`, `bench.gpu`).

The training is what the app and the command line run: `nn.engines.start_training`, on MNIST's
training images, scoring the 10,000 test images after every epoch (both engines do). Times are
wall-clock, taken as the events reach this loop:

- an epoch: from the previous `EpochEnd` (the first: from the call to `events()`) to its own, so
  it holds the epoch's batches, its start (shuffling) and its end (scoring the test set);
- by batches, when a whole epoch would take too long: the `BatchProgress` reports of the first
  epoch give a steady rate (from the first report on, so the first batches, which warm up caches
  and trace graphs, are not in it); an epoch is that rate times its batches, without the epoch's
  start and test scoring. The training is stopped once `batches` batches are timed.

`cpu_name` names the processor for the benchmarks' tables. This module imports only the standard
library and `nn` (NumPy; Keras when the engine is the framework's).
"""

from __future__ import annotations

import platform
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from nn.core.config import RunConfig
from nn.core.data import MNIST
from nn.core.events import BatchProgress, EpochEnd
from nn.engines import start_training


@dataclass
class Timing:
    """What one timed training measured."""

    device: str  # where the engine computed, in its own words
    epoch_seconds: list[float] = field(default_factory=list)  # every whole epoch, in order
    batch_marks: list[tuple[int, float]] = field(default_factory=list)  # (batches done, time)
    batches_per_epoch: int = 0
    test_accuracy: float | None = None  # after the last whole epoch
    status: str = ""  # how the training ended: completed, stopped or diverged

    def steady_epoch(self) -> float:
        """Seconds an epoch in the steady state: the median of the epochs after the first."""
        return statistics.median(self.epoch_seconds[1:])

    def extrapolated_epoch(self) -> float:
        """Seconds an epoch, from the rate of the timed batches."""
        (first, start), (last, end) = self.batch_marks[0], self.batch_marks[-1]
        return (end - start) / (last - first) * self.batches_per_epoch


def time_training(
    config: RunConfig, mnist: MNIST, threads: int | None = None, batches: int | None = None
) -> Timing:
    """Train by `config` (on `threads` CPU threads for a framework; None: its choice) and time
    its epochs, or, given `batches`, only that many batches of the first epoch."""
    training = start_training(config, mnist, threads)
    timing = Timing(training.device)
    stop = threading.Event()
    last = time.perf_counter()
    for event in training.events(stop):
        now = time.perf_counter()
        if isinstance(event, EpochEnd):
            timing.epoch_seconds.append(now - last)
            timing.test_accuracy, last = event.test_accuracy, now
        elif isinstance(event, BatchProgress) and batches and event.epoch == 1:
            timing.batch_marks.append((event.batch, now))
            timing.batches_per_epoch = event.batches
            if event.batch - timing.batch_marks[0][0] >= batches:
                stop.set()
    timing.status = training.result.status if training.result else "unfinished"
    return timing


def cpu_name() -> str:
    """The processor's model name, as Linux gives it (`/proc/cpuinfo`), or what Python knows."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    names = (line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    return next(names, platform.processor() or platform.machine())
