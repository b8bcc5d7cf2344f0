"""Classifying what a person draws: canvas pixels in, the network's view and its answer out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nn.core.errors import EmptyImageError
from nn.core.network import MLP
from nn.core.preprocess import mnist_style


@dataclass(frozen=True)
class Guess:
    """The 28×28 image the network saw, as it read it, its ten probabilities and its answer."""

    seen: np.ndarray  # (28, 28) float32 in [0, 1]: the drawing prepared as MNIST's digits were
    read: np.ndarray  # (28, 28): `seen` as the network reads it (deskewed, if it deskews)
    probs: np.ndarray  # (10,)

    @property
    def digit(self) -> int:
        return int(self.probs.argmax())

    @property
    def confidence(self) -> float:
        return float(self.probs.max())


def classify_drawing(model: MLP, canvas_pixels: np.ndarray | None) -> Guess | None:
    """The network's guess for a canvas drawing, or None while the canvas holds no ink.

    The drawing goes through the same MNIST-style preparation as every other digit from outside
    MNIST (crop, fit a 20×20 box, centre by mass), otherwise the network would be judged on
    images unlike anything it was trained on.
    """
    if canvas_pixels is None:
        return None
    try:
        seen = mnist_style(canvas_pixels)
    except EmptyImageError:
        return None
    read, _ = model.prepare(seen)
    return Guess(seen=seen, read=read.reshape(28, 28), probs=model.predict_proba(seen))
