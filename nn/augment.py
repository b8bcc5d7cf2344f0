"""Random distortions of training images (placeholder until the augmentation work lands)."""

from __future__ import annotations

import numpy as np


def distort(images: np.ndarray, rng: np.random.Generator, kind: str) -> np.ndarray:
    raise NotImplementedError("augmentation is not implemented yet")
