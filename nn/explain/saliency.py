"""Which pixels made the network choose its answer: gradient × input saliency.

For one image x the network scores every digit (its logits s). The question a person asks is
not "why 7?" but "why 7 rather than 1?", so we explain the margin m = s_pred − s_runner_up,
the quantity whose sign is the decision. Its gradient dm/dx says how each pixel's ink would move
the margin; multiplied by the ink actually there (x_i · dm/dx_i) it says how much each drawn
pixel did move it. Positive pixels argued for the predicted digit, negative ones for the
runner-up. For a ReLU network without biases these contributions add up exactly to m.

The gradient comes from the network's own backward pass, run with the input gradient that
training skips (nobody trains the image), on detached layers so nothing shared is touched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nn.core.losses import softmax
from nn.core.network import MLP

from .inside import SIDE


@dataclass(frozen=True)
class Saliency:
    """Why `predicted` rather than `runner_up`, pixel by pixel (28×28 maps)."""

    predicted: int
    runner_up: int
    probabilities: np.ndarray
    margin: float  # s_predicted − s_runner_up: positive when the prediction wins
    gradient: np.ndarray  # d margin / d pixel
    attribution: np.ndarray  # gradient × pixel


def saliency(model: MLP, image: np.ndarray, target: int | None = None, versus: int | None = None) -> Saliency:
    """Explain `target` (default: the prediction) against `versus` (default: the best other digit)."""
    x, single = model.prepare(image)
    if not single:
        raise ValueError(f"saliency explains one image at a time, got a batch of {len(x)}")
    layers = model.detached_layers()
    logits = x
    for layer in layers:
        logits = layer.forward(logits)
    scores = logits[0]
    target = int(scores.argmax()) if target is None else _check_class(target)
    if versus is None:
        versus = int(np.argmax(np.where(np.arange(len(scores)) == target, -np.inf, scores)))
    elif _check_class(versus) == target:
        raise ValueError(f"cannot explain digit {target} against itself")
    grad = np.zeros_like(logits)
    grad[0, target], grad[0, versus] = 1.0, -1.0
    for layer in reversed(layers):
        grad = layer.backward(grad)
    gradient = grad.reshape(SIDE, SIDE)
    return Saliency(
        predicted=target,
        runner_up=versus,
        probabilities=softmax(logits / model.temperature)[0],  # as predict_proba's
        margin=float(scores[target] - scores[versus]),
        gradient=gradient,
        attribution=gradient * x.reshape(SIDE, SIDE),
    )


def _check_class(digit: int) -> int:
    if not 0 <= int(digit) <= 9:
        raise ValueError(f"a digit is 0–9, got {digit}")
    return int(digit)
