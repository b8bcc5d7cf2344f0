"""Learning-rate schedules: the learning rate as a function of how far training has got.

`progress` runs from 0 at the first batch to 1 after the last. Large early steps cross the
loss landscape quickly; smaller late steps settle into a minimum instead of rattling around it.
"""

from __future__ import annotations

import math


def learning_rate(schedule: str, base: float, progress: float) -> float:
    if schedule == "constant":
        return base
    if schedule == "linear":
        return base * (1.0 - progress)
    if schedule == "cosine":
        return base * 0.5 * (1.0 + math.cos(math.pi * progress))
    if schedule == "step":  # a tenth at half-way, a hundredth at three quarters
        return base * (0.1 ** ((progress >= 0.5) + (progress >= 0.75)))
    raise ValueError(f"unknown schedule {schedule!r}")
