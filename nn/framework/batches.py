"""The batches `nn.core.training` would take, as a Keras data source.

Shuffling and distortion stay NumPy's, on the CPU, drawn from the training's own generator in
the order `nn.core.training.NumpyTraining` draws them: the epoch's permutation, then its
distortions, deskewed if the network deskews (`EpochImages`). So both engines see the same images
in the same batches. Each epoch is drawn when it begins (`on_epoch_begin`), never earlier: the
generator's state at an epoch's end is what a checkpoint keeps, and a resumed run draws the next
epoch from it.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from nn.core.config import TrainConfig
from nn.core.training import EpochImages


class Batches(keras.utils.PyDataset):
    """Batch `i` of the current epoch: rows `order[i·B:(i+1)·B]` of its distorted images, scaled to [0, 1]."""

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        config: TrainConfig,
        rng: np.random.Generator,
        dtype: str,
        deskews: bool = False,
    ):
        super().__init__()  # one worker: the batches are cut in order, where Keras asks
        self.labels, self.config, self.rng = labels.astype(np.int32), config, rng
        self.epoch_images = EpochImages(images, config.augment, deskews)
        self.dtype = np.dtype(dtype)
        self.order: np.ndarray | None = None
        self.pixels = self.epoch_images.images.reshape(len(images), -1)

    def __len__(self) -> int:
        return math.ceil(len(self.labels) / self.config.batch_size)

    def on_epoch_begin(self) -> None:
        self.order = self.rng.permutation(len(self.labels))
        self.pixels = self.epoch_images.draw(self.rng)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        size = self.config.batch_size
        # Before the first epoch Keras looks at a batch or two for their shapes and types: the
        # first rows, undistorted, do for that, and draw nothing from the generator.
        order = self.order if self.order is not None else np.arange(len(self.labels))
        rows = order[index * size : (index + 1) * size]
        x = np.multiply(self.pixels.take(rows, axis=0), self.epoch_images.scale, dtype=self.dtype)
        return x, self.labels[rows]
