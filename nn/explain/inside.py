"""What a trained network holds inside: its layers' activations, its first-layer features, and
how its weights and activations are distributed.

Everything here reads a model without changing it, through `MLP.detached_layers`: the same
maths as training, none of its state, so it is safe beside a thread that predicts with (or
trains) the same model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nn.core.layers import ReLU
from nn.core.network import MLP

SIDE = 28


def layer_names(model: MLP) -> list[str]:
    """One label per Dense layer, e.g. "hidden 1 (128)" … "output (10)"."""
    sizes = model.layer_sizes[1:]
    return [f"hidden {i + 1} ({n})" for i, n in enumerate(sizes[:-1])] + [f"output ({sizes[-1]})"]


def activations(model: MLP, images: np.ndarray) -> list[np.ndarray]:
    """What every layer outputs for `images`: each hidden layer after its ReLU, then the logits.

    One image (28×28 or 784) gives 1-D arrays, a batch gives (N, width) arrays.
    """
    x, single = model.prepare(images)
    outputs = []
    for layer in model.detached_layers():
        x = layer.forward(x)
        if isinstance(layer, ReLU):
            outputs.append(x)
    outputs.append(x)  # the logits
    return [a[0] for a in outputs] if single else outputs


def first_layer_features(model: MLP) -> np.ndarray:
    """The first layer's weights as one 28×28 image per neuron: the pattern each one responds to.

    A neuron's input is the dot product of the image with its weights, so it fires most for
    images that look like its positive weights and least for those that look like its negative.
    """
    W = model.weights[0]
    return W.T.reshape(W.shape[1], SIDE, SIDE)


def tile(images: np.ndarray, columns: int, gap: int = 1) -> np.ndarray:
    """Lay (N, h, w) images out as one grid image, each scaled to [-1, 1] by its largest |value|.

    Scaling each tile on its own makes faint and strong neurons equally readable, and the
    symmetric range keeps 0 at the centre of a diverging colour scale. Gaps and empty cells
    are NaN, which charts draw as blank.
    """
    n, h, w = images.shape
    if n == 0 or columns < 1:
        raise ValueError(f"need at least one image and one column (got {n} images, {columns} columns)")
    rows = -(-n // columns)
    grid = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap), np.nan)
    peaks = np.abs(images).reshape(n, -1).max(axis=1)
    peaks[peaks == 0] = 1.0  # an all-zero tile stays zero instead of dividing by zero
    for i, (image, peak) in enumerate(zip(images, peaks)):
        top, left = (i // columns) * (h + gap), (i % columns) * (w + gap)
        grid[top : top + h, left : left + w] = image / peak
    return grid


@dataclass(frozen=True)
class Distribution:
    """Histograms of one layer's values before and after training, over the same bins."""

    layer: str
    edges: np.ndarray
    before: np.ndarray
    after: np.ndarray
    zero_before: float  # fraction of exact zeros: silent ReLU units, for activations
    zero_after: float

    @property
    def centres(self) -> np.ndarray:
        return (self.edges[:-1] + self.edges[1:]) / 2

    @property
    def width(self) -> float:
        return float(self.edges[1] - self.edges[0])


def compare(layer: str, before: np.ndarray, after: np.ndarray, bins: int = 40) -> Distribution:
    """Histogram two sets of values over shared bins, so their bars can be laid over each other."""
    before, after = np.ravel(before), np.ravel(after)
    low = float(min(before.min(), after.min()))
    high = float(max(before.max(), after.max()))
    edges = np.linspace(low, high if high > low else low + 1.0, bins + 1)
    return Distribution(
        layer=layer,
        edges=edges,
        before=np.histogram(before, edges)[0],
        after=np.histogram(after, edges)[0],
        zero_before=float(np.mean(before == 0)),
        zero_after=float(np.mean(after == 0)),
    )


def initial_model(model: MLP) -> MLP | None:
    """The network as it was before any training, rebuilt from its `ModelConfig`.

    Initialisation depends only on the architecture, the init scheme and the seed, which
    `model.config` holds (a fine-tuned copy keeps its base's). Returns None unless the model's
    record says Digit Lab trained it from its first weights: a file from elsewhere (or a
    fine-tune of one) may have started from anything.
    """
    if model.record.first_training is None:
        return None
    return MLP.from_config(model.config)


def weight_distributions(before: MLP, after: MLP, bins: int = 40) -> list[Distribution]:
    """Per layer, the weights of the untrained and the trained network."""
    names = layer_names(after)
    return [compare(name, b, a, bins) for name, b, a in zip(names, before.weights, after.weights)]


def activation_distributions(
    before: MLP, after: MLP, images: np.ndarray, bins: int = 40
) -> list[Distribution]:
    """Per layer, what the untrained and the trained network compute for the same images."""
    names = layer_names(after)
    pairs = zip(names, activations(before, images), activations(after, images))
    return [compare(name, b, a, bins) for name, b, a in pairs]
