"""Ordinary changes a digit meets outside MNIST, each at a chosen strength: how much does accuracy fall?

Adversarial examples are the worst case; these are the everyday ones: a digit written at a
slant, off-centre, larger or smaller, on a noisy scan, with a finer or broader pen, out of focus.
Each corruption is applied at a fixed severity to every image, so accuracy can be drawn as a
curve against it. The pixel work is `nn.core.augment`'s (the same bilinear resampling, stroke
thickness and blur the training augmentation draws at random); here every parameter is set.

    name        severity                                  at 0
    rotation    degrees, either way (half the images each) 0
    shift       pixels, in a random direction per image   0
    scale       zoom factor (<1 smaller, >1 larger)        1
    noise       Gaussian noise's σ, on the 0–1 ink scale   0
    thickness   pixels added to (−: taken off) the stroke   0
    blur        Gaussian blur's σ in pixels                 0

Where a direction is random, it comes from a fixed seed: the same call gives the same images.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nn.core import augment
from nn.core.network import MLP

SEED = 0


@dataclass(frozen=True)
class Corruption:
    """One kind of change: how to apply it at a severity, and the severities a curve visits."""

    name: str
    unit: str  # the x axis of its curve
    levels: tuple[float, ...]
    clean: float  # the severity that leaves an image as it is
    apply: Callable[[np.ndarray, float, np.random.Generator], np.ndarray]  # uint8 in, float 0–255 out


def _affine(images: np.ndarray, angle: np.ndarray, zoom: np.ndarray, shift: np.ndarray) -> np.ndarray:
    out = np.empty(images.shape, np.float32)
    for start in range(0, len(images), augment.CHUNK):
        chunk = slice(start, start + augment.CHUNK)
        n = len(images[chunk])
        coords = augment.affine_coordinates(angle[chunk], zoom[chunk], np.zeros(n), shift[chunk])
        out[chunk] = augment.bilinear(images[chunk], coords)
    return out


def _rotate(images: np.ndarray, degrees: float, rng: np.random.Generator) -> np.ndarray:
    n = len(images)
    angle = np.deg2rad(degrees) * rng.choice([-1.0, 1.0], n)
    return _affine(images, angle, np.ones(n), np.zeros((n, 2)))


def _shift(images: np.ndarray, pixels: float, rng: np.random.Generator) -> np.ndarray:
    n = len(images)
    direction = rng.uniform(0, 2 * np.pi, n)
    shift = pixels * np.stack((np.sin(direction), np.cos(direction)), axis=1)
    return _affine(images, np.zeros(n), np.ones(n), shift)


def _scale(images: np.ndarray, zoom: float, rng: np.random.Generator) -> np.ndarray:
    n = len(images)
    return _affine(images, np.zeros(n), np.full(n, zoom), np.zeros((n, 2)))


def _noise(images: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    return augment.add_noise(images.astype(np.float32), np.full(len(images), sigma), rng)


def _thickness(images: np.ndarray, pixels: float, rng: np.random.Generator) -> np.ndarray:
    return augment.thicken(images.astype(np.float32), np.full(len(images), pixels))


def _blur(images: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    return augment.gaussian_blur(images.astype(np.float32), np.full(len(images), sigma))


CORRUPTIONS: dict[str, Corruption] = {
    c.name: c
    for c in (
        Corruption("rotation", "degrees", (0, 5, 10, 15, 20, 25, 30, 35, 40, 45), 0, _rotate),
        Corruption("shift", "pixels", (0, 1, 2, 3, 4, 5, 6), 0, _shift),
        Corruption("scale", "zoom", (0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4), 1, _scale),
        Corruption("noise", "σ (ink 0–1)", (0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6), 0, _noise),
        Corruption("thickness", "pixels of stroke", (-1, -0.5, 0, 0.5, 1, 1.5, 2), 0, _thickness),
        Corruption("blur", "σ (pixels)", (0, 0.5, 1, 1.5, 2, 2.5), 0, _blur),
    )
}


def corrupt(images: np.ndarray, kind: str, severity: float, seed: int = SEED) -> np.ndarray:
    """uint8 images (N, 28, 28) changed by `kind` at `severity`; the same seed gives the same images."""
    if kind not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {kind!r}; choose one of {', '.join(CORRUPTIONS)}")
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images of shape (N, 28, 28), got {images.dtype} {images.shape}")
    corruption = CORRUPTIONS[kind]
    if severity == corruption.clean:
        return images.copy()
    changed = corruption.apply(images, severity, np.random.default_rng(seed))
    changed += 0.5  # round to nearest on the cast: every step keeps values within 0–255
    return changed.astype(np.uint8)


def accuracy_under_corruption(model: MLP, images: np.ndarray, labels: np.ndarray, kind: str) -> np.ndarray:
    """Accuracy at each of the corruption's levels (`CORRUPTIONS[kind].levels`)."""
    labels = np.asarray(labels)
    return np.array(
        [np.mean(model.predict(corrupt(images, kind, level)) == labels) for level in CORRUPTIONS[kind].levels]
    )
