"""How many cores the rest of the machine leaves a process, measured as it goes (Linux only).

A worker's BLAS splits each matrix product between its threads and waits for the slowest: when
anything else takes one of their cores for a moment, the whole product waits. On a quiet machine
a lone run's second thread makes its epochs faster; beside a person browsing the app, the same
second thread made them slower than one thread alone (README, "BLAS threads"). So a worker asks
this, between batches, how many cores were left free over the last second, and uses no more.

The machine's busy time comes from `/proc/stat` and the process's own from `os.times`: what is
busy and not the process is everyone else (the server, browsers, other programs, a hypervisor's
stolen time). Elsewhere nothing is measured and the server's share stands.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

WINDOW_SECONDS = 1.0  # the span measured: long enough to average a page's bursts, short enough to follow them
# How much of a core others may use for it to count as free. Beside its own open Train page, a
# lone run's neighbours used mostly 0.1-0.3 of a core, and two threads were the faster; beside a
# person browsing other pages, 0.3-1.8, and one thread was.
FREE_IF_OTHERS_BELOW = 0.3
_STAT = Path("/proc/stat")


def machine_busy_seconds() -> float | None:
    """CPU seconds every core has spent busy since boot; None where the system does not say."""
    try:
        first_line = _STAT.read_text().split("\n", 1)[0]
    except OSError:
        return None
    # cpu  user nice system idle iowait irq softirq steal (guest time is already in user)
    ticks = [int(value) for value in first_line.split()[1:9]]
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def own_busy_seconds() -> float:
    """CPU seconds this process (all its threads) has used."""
    times = os.times()
    return times.user + times.system


class SpareCores:
    """The cores left free by everyone else, over the last `WINDOW_SECONDS` (re-measured when due)."""

    def __init__(self, cores: int | None = None):
        self.cores = cores or os.cpu_count() or 1
        self.free: int | None = None  # unknown until a window has passed, or where not measurable
        self._since = (time.monotonic(), machine_busy_seconds(), own_busy_seconds())

    def now(self) -> int | None:
        """Whole cores free of others' use, as of the last full window; None if unknown."""
        started, machine_then, own_then = self._since
        elapsed = time.monotonic() - started
        if machine_then is None or elapsed < WINDOW_SECONDS:
            return self.free
        machine, own = machine_busy_seconds(), own_busy_seconds()
        if machine is None:
            return self.free
        others = max(0.0, (machine - machine_then) - (own - own_then)) / elapsed
        self.free = max(1, math.floor(self.cores - others + FREE_IF_OTHERS_BELOW))
        self._since = (time.monotonic(), machine, own)
        return self.free
