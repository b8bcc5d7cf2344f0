"""Waiting on jobs that run in real worker processes, and a run long enough to be caught mid-way."""

from __future__ import annotations

import time
from collections.abc import Callable

from nn.core.config import RunConfig

# A ceiling for anything a worker does, far above what it takes, so that a slow, shared machine
# fails a test only when something is really stuck.
TIMEOUT = 300
# Per-sample SGD for a thousand epochs: a run that is still training whenever a test looks at it,
# yet reports a batch within a second.
ENDLESS_VALUES = dict(hidden=(16,), epochs=1000, train_size=2000, batch_size=1, optimizer="sgd", lr=0.01)
ENDLESS = RunConfig.from_values(ENDLESS_VALUES)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> float:
    """Poll until `condition()` holds; the seconds it took. Fails naming `what` after `timeout`."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, f"timed out waiting for {what}"
        time.sleep(0.02)
    return time.monotonic() - start
