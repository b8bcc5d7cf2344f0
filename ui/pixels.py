"""Showing 28×28 digit images at a size people can see."""

from __future__ import annotations

import numpy as np


def enlarge(image: np.ndarray, factor: int) -> np.ndarray:
    """uint8 image blown up by repeating pixels: crisp squares, where browser scaling would blur.

    Accepts uint8 (0–255) or float (0–1) images, the two forms digits take in `nn`.
    """
    if image.dtype != np.uint8:
        image = np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)
