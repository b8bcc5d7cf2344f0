"""Deskewing: standing every digit upright, by its image moments, before the network reads it.

People slant their writing, each by their own angle. A network can learn every slant from
examples (at the cost of units and data), or the slant can be taken out first: measure how the
ink's column drifts with its row, and shear the image back so that drift is zero, with the
centre of mass at the centre. LeCun et al.'s table shows what it does for an MLP: a 300-unit
network went from 4.7 % to 1.6 % test error on deskewed digits.

The slant is the ratio of two central moments of the ink I:
    α = Σ (y − ȳ)(x − x̄) I / Σ (y − ȳ)² I
(the least-squares slope of column on row), and the deskewed image at (row r, column c) is the
original read at (r + ȳ − m, c + x̄ − m + α (r − m)), m being the image's middle, 13.5.

A model that deskews does it to every image it reads, in training and afterwards, so an input
is always prepared as its model was trained (`MLP.prepare`); the choice is part of the network's
own config (`ModelConfig.prepare`) and so of its model file.
"""

from __future__ import annotations

import numpy as np

from .augment import CHUNK, SIZE, bilinear

MIDDLE = (SIZE - 1) / 2
MAX_SLANT = 1.0  # a shear of 45°: beyond it the "slant" of a scrawl means nothing


def slant(images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per image (N, 28, 28): α, how many columns the ink moves right per row down; and the row
    and column of its centre of mass."""
    ink = images.astype(np.float32)
    total = ink.sum(axis=(1, 2))
    safe = np.where(total > 0, total, 1.0)
    rows, cols = np.arange(SIZE, dtype=np.float32), np.arange(SIZE, dtype=np.float32)
    by_row, by_col = ink.sum(axis=2), ink.sum(axis=1)
    mean_row, mean_col = by_row @ rows / safe, by_col @ cols / safe
    dy = rows[None, :] - mean_row[:, None]
    dx = cols[None, :] - mean_col[:, None]
    covariance = np.einsum("nr,nrc,nc->n", dy, ink, dx) / safe
    variance = np.einsum("nr,nr->n", dy**2, by_row) / safe
    alpha = np.where(variance > 0, covariance / np.where(variance > 0, variance, 1.0), 0.0)
    return np.clip(alpha, -MAX_SLANT, MAX_SLANT), mean_row, mean_col


def as_bytes(pixels: np.ndarray) -> np.ndarray:
    """Ink in [0, 1] as uint8 0–255, the bytes MNIST's images are (and `deskew` resamples)."""
    return np.rint(np.clip(pixels, 0, 1) * 255).astype(np.uint8)


def deskew(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, 28, 28) sheared upright and centred by their moments, as uint8."""
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (SIZE, SIZE) or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images of shape (N, 28, 28), got {images.dtype} {images.shape}")
    out = np.empty_like(images)
    for start in range(0, len(images), CHUNK):
        chunk = images[start : start + CHUNK]
        alpha, mean_row, mean_col = slant(chunk)
        pixels = bilinear(chunk, _coordinates(alpha, mean_row, mean_col))
        pixels += 0.5  # round to nearest on the cast: bilinear keeps values within 0–255
        out[start : start + CHUNK] = pixels
    return out


def _coordinates(alpha: np.ndarray, mean_row: np.ndarray, mean_col: np.ndarray) -> np.ndarray:
    """Source (row, col) of every output pixel, (n, 2, 28·28) float32."""
    n = len(alpha)
    r = np.arange(SIZE, dtype=np.float32)[None, :, None] - MIDDLE
    c = np.arange(SIZE, dtype=np.float32)[None, None, :] - MIDDLE
    source_row = np.broadcast_to(r + mean_row[:, None, None], (n, SIZE, SIZE))
    source_col = c + mean_col[:, None, None] + alpha[:, None, None] * r
    return np.stack((source_row, source_col), axis=1).reshape(n, 2, SIZE * SIZE).astype(np.float32)
