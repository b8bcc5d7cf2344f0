"""Maps of what each layer makes of the digits: activations projected to 2-D, and how well they separate.

Every layer turns an image into a point in a space with as many dimensions as it has units.
PCA finds the two directions in which a sample of those points spreads most and lays the
points out along them: a flat picture of the layer's space that keeps as much of its spread as
two axes can. With the data centred, those directions are its first right singular vectors.

How well a layer separates the digits is scored in the map itself: the share of points whose
`NEIGHBOURS` nearest other points in 2-D mostly carry the same label (leave-one-out k-NN
accuracy). Raw pixels score low; a trained network's deeper layers score higher and higher,
which is the point of having layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nn.core.network import MLP

from .inside import activations, layer_names

MAP_SAMPLE = 2000  # test images in a map: enough for ten clear clusters, cheap enough to redo per epoch
NEIGHBOURS = 5
_DISTANCE_ROWS = 500  # rows of the distance matrix computed at a time: bounds memory for any N


@dataclass(frozen=True)
class Projection:
    """A fitted PCA: `points` are the fitted data in the new axes; `transform` maps other data there."""

    points: np.ndarray  # (N, k)
    mean: np.ndarray  # (d,)
    axes: np.ndarray  # (k, d): unit principal directions, most spread first
    explained: np.ndarray  # (k,): share of the total variance along each axis

    def transform(self, data: np.ndarray) -> np.ndarray:
        return (np.asarray(data, dtype=np.float64) - self.mean) @ self.axes.T


def pca(data: np.ndarray, components: int = 2) -> Projection:
    """Principal component analysis of the rows of `data` (N, d).

    The principal axes are the right singular vectors of the centred data X, and the variance
    along each is its singular value squared. They are computed here as the eigenvectors of the
    smaller of XᵀX (d × d) and XXᵀ (N × N), which are the same vectors and values without the
    rest of the SVD: for 2,000 activations of 1,024 units that is a few times faster, which
    matters for a map redrawn every epoch. `tests/nn/test_projection.py` holds it to NumPy's SVD.

    Each axis's sign is fixed so that its largest-magnitude entry is positive: either sign is
    an equally good axis, and a map that flipped between two calls would look like a new picture.
    """
    data = np.asarray(data, dtype=np.float64)
    if data.ndim != 2 or len(data) < 2 or not 1 <= components <= min(data.shape):
        raise ValueError(f"need two or more rows and 1..min(N, d) components, got shape {data.shape}")
    mean = data.mean(axis=0)
    centred = data - mean
    n, d = centred.shape
    if d <= n:
        variance, vectors = np.linalg.eigh(centred.T @ centred)  # ascending
        axes = vectors[:, ::-1][:, :components].T
    else:
        variance, vectors = np.linalg.eigh(centred @ centred.T)
        axes = (centred.T @ vectors[:, ::-1][:, :components]).T
        axes /= np.maximum(np.linalg.norm(axes, axis=1, keepdims=True), np.finfo(float).tiny)
    variance = np.clip(variance[::-1], 0, None)  # rounding can leave tiny negatives
    axes *= np.sign(axes[np.arange(components), np.abs(axes).argmax(axis=1)])[:, None]
    total = variance.sum()
    explained = variance[:components] / total if total > 0 else np.zeros(components)
    return Projection(centred @ axes.T, mean, axes, explained)


def knn_accuracy(points: np.ndarray, labels: np.ndarray, k: int = NEIGHBOURS) -> float:
    """Leave-one-out k-nearest-neighbour accuracy: how often a point's k nearest others vote its label.

    Votes count nearly equally; a hair more for nearer neighbours, so that a tie goes to the
    label whose votes are closer rather than to whichever label comes first.
    """
    points = np.asarray(points, dtype=np.float64)
    classes, codes = np.unique(np.asarray(labels), return_inverse=True)
    if len(points) <= k:
        raise ValueError(f"need more than k={k} points, got {len(points)}")
    weights = 1 + 1e-3 * np.arange(k, 0, -1)  # nearest first: 1.005, 1.004, … for k = 5
    squares = (points**2).sum(axis=1)
    correct = 0
    for start in range(0, len(points), _DISTANCE_ROWS):
        rows = np.arange(start, min(start + _DISTANCE_ROWS, len(points)))
        distance = squares[rows, None] - 2 * points[rows] @ points.T + squares[None, :]
        distance[np.arange(len(rows)), rows] = np.inf  # leave the point itself out
        nearest = np.argpartition(distance, k, axis=1)[:, :k]
        nearest = np.take_along_axis(nearest, np.take_along_axis(distance, nearest, 1).argsort(1), 1)
        tally = np.einsum("rkc,k->rc", np.eye(len(classes))[codes[nearest]], weights)
        correct += int(np.count_nonzero(tally.argmax(axis=1) == codes[rows]))
    return correct / len(points)


@dataclass(frozen=True)
class LayerMap:
    """One layer's 2-D map of a sample of images, and how well the digits separate in it."""

    name: str
    projection: Projection
    separation: float | None  # leave-one-out k-NN accuracy in the 2-D map (None: not computed)

    @property
    def points(self) -> np.ndarray:
        return self.projection.points


def map_sample(labels: np.ndarray, size: int = MAP_SAMPLE, seed: int = 0) -> np.ndarray:
    """Sorted indices of a fixed random sample of `size` images: the same sample for every map."""
    size = min(size, len(labels))
    return np.sort(np.random.default_rng(seed).choice(len(labels), size=size, replace=False))


def layer_representations(model: MLP, images: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(name, values) for the pixels and then every layer's output (hidden after ReLU, then logits)."""
    pixels, _ = model.prepare(images)
    names = ["pixels (784)", *layer_names(model)]
    return list(zip(names, [pixels, *activations(model, images)]))


def layer_maps(
    model: MLP, images: np.ndarray, labels: np.ndarray, pixels: LayerMap | None = None
) -> list[LayerMap]:
    """The pixels' map and every layer's map of the same images, each with its separation score.

    The pixels' map does not depend on the network: pass one made for the same images (by
    another network's `layer_maps`) as `pixels` to save computing it again.
    """
    representations = layer_representations(model, images)
    first = [pixels] if pixels is not None else []
    return first + [_layer_map(name, values, labels) for name, values in representations[len(first) :]]


def last_hidden_map(model: MLP, images: np.ndarray, labels: np.ndarray, score: bool = True) -> LayerMap:
    """The map of the last hidden layer alone, to redraw after every training epoch.

    The separation score costs several times the map itself (see bench/live_map.py): `score=False`
    leaves it out (`separation` is then None).
    """
    values = activations(model, images)[-2]
    return _layer_map(layer_names(model)[-2], values, labels if score else None)


def _layer_map(name: str, values: np.ndarray, labels: np.ndarray | None) -> LayerMap:
    projection = pca(values)
    separation = None if labels is None else knn_accuracy(projection.points, labels)
    return LayerMap(name, projection, separation)


def place(model: MLP, maps: list[LayerMap], image: np.ndarray) -> list[np.ndarray]:
    """Where one more image (28×28 or 784) lands on each of `layer_maps`'s maps: one (2,) point each.

    The image goes through the same network and each map's fitted PCA, so a drawn digit can be
    shown among the test digits without moving them.
    """
    values = [v.reshape(1, -1) for _, v in layer_representations(model, image)]
    if len(values) != len(maps):
        raise ValueError(f"{len(maps)} maps for a network with {len(values)} representations")
    return [m.projection.transform(v)[0] for m, v in zip(maps, values)]
