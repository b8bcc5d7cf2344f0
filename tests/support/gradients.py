"""Gradients by central differences, and how far an analytic gradient is from them.

(f(x + ε) − f(x − ε)) / 2ε in float64 agrees with a correct backward pass to about 1e-10 in
relative error ‖a − n‖ / (‖a‖ + ‖n‖), and a missing term, a wrong transpose or a lost factor of
the batch size puts it near 1: the gap between the two is what makes these checks decisive.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

EPS = 1e-6


def numerical_gradient(
    f: Callable[[], float], x: np.ndarray, indices: Sequence[int] | np.ndarray | None = None
) -> np.ndarray:
    """Central differences of f() with respect to the entries of x (changed in place, then restored)."""
    flat = x.reshape(-1)  # a view: writing to it moves what f() reads
    indices = range(flat.size) if indices is None else indices
    grad = np.zeros(len(indices))
    for k, i in enumerate(indices):
        saved = flat[i]
        flat[i] = saved + EPS
        plus = f()
        flat[i] = saved - EPS
        minus = f()
        flat[i] = saved
        grad[k] = (plus - minus) / (2 * EPS)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """‖a − n‖ / (‖a‖ + ‖n‖); refuses two zero gradients, which would agree without proving anything."""
    analytic, numeric = np.ravel(analytic), np.ravel(numeric)
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    assert scale > 0, "both gradients are zero: the check would prove nothing"
    return float(np.linalg.norm(analytic - numeric) / scale)
