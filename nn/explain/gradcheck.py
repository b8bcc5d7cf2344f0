"""Checking backpropagation against the definition of a derivative, on a few weights.

Backprop's dL/dw comes from the chain rule applied layer by layer; the central difference

    (L(w + h) − L(w − h)) / 2h

comes from nudging one weight and running the network forward twice. They agree to about
h² (the error of a central difference) plus rounding divided by h. In float64, with h = 1e-6,
that is a relative error near 1e-9 for a weight the image really moves, while a mistake in the
calculus (a missing term, a wrong transpose) gives errors of order 1. A float32 network is
checked through a float64 copy: in float32 the rounding alone would swamp the comparison.

A weight whose gradient is tiny says nothing: the loss is rounded to about 1e-16, so the
difference quotient carries an absolute error near 1e-16 / 2h ≈ 1e-10 whatever the weight.
Only gradients of at least `RESOLVABLE` can show a relative error below 1e-6, so the weights
are drawn at random among those; where an image (one the network is already sure of, say)
moves no weight that much, the largest gradients are checked instead and flagged as below
resolution, so the table shows what rounding looks like rather than nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nn.core.losses import cross_entropy
from nn.core.network import MLP

from .stepwise import scratch_copy

STEP = 1e-6
RESOLVABLE = 1e-4  # |dL/dw| from which a float64 central difference resolves 1e-6: see above


@dataclass(frozen=True)
class GradientCheck:
    """One weight, W[source, target] of Dense layer `layer` (0 = the first): backprop vs. the definition."""

    layer: int
    source: int
    target: int
    backprop: float
    numeric: float

    @property
    def resolvable(self) -> bool:
        """Whether the gradient is large enough for the central difference to check it to 1e-6."""
        return abs(self.backprop) >= RESOLVABLE

    @property
    def relative_error(self) -> float:
        """|a − n| / (|a| + |n|): 0 when equal, 1 when one of them is 0 or they have opposite signs."""
        return abs(self.backprop - self.numeric) / (abs(self.backprop) + abs(self.numeric))


def check_gradients(
    model: MLP, image: np.ndarray, label: int, per_layer: int = 2, seed: int = 0, step: float = STEP
) -> list[GradientCheck]:
    """Compare backprop with central differences on `per_layer` random weights of every Dense layer.

    Works on a float64 copy; `model` is not changed. Where a layer has fewer than `per_layer`
    weights with a resolvable gradient, its largest gradients are checked instead.
    """
    net = scratch_copy(model, "float64")
    x, _ = net.prepare(image)
    y = np.array([label])
    net.loss_and_gradients(x, y)
    rng = np.random.default_rng(seed)
    checks = []
    for layer, (W, dW) in enumerate(zip(net.weights, _weight_gradients(net))):
        size = np.abs(dW).ravel()
        candidates = np.flatnonzero(size >= RESOLVABLE)
        if len(candidates) >= per_layer:
            chosen = rng.choice(candidates, size=per_layer, replace=False)
        else:
            chosen = np.argsort(-size, kind="stable")[:per_layer]
        for flat in chosen:
            source, target = np.unravel_index(flat, W.shape)
            numeric = _central_difference(net, x, y, W, (source, target), step)
            checks.append(GradientCheck(layer, int(source), int(target), float(dW.flat[flat]), numeric))
    return checks


def _weight_gradients(net: MLP) -> list[np.ndarray]:
    """dL/dW per layer: views of the gradient buffer, which the check's forward passes leave alone."""
    return [layer.dW for layer in net.layers[0::2]]


def _central_difference(
    net: MLP, x: np.ndarray, y: np.ndarray, W: np.ndarray, where: tuple[int, int], step: float
) -> float:
    saved = W[where]
    losses = []
    for nudged in (saved + step, saved - step):
        W[where] = nudged
        losses.append(cross_entropy(net.forward(x), y)[0])
    W[where] = saved
    return (losses[0] - losses[1]) / (2 * step)
