"""Digit Lab's neural-network engine: an MLP for MNIST in plain NumPy.

from nn import MLP, TrainConfig, load_mnist
mnist = load_mnist()
model = MLP(hidden=(128, 64)).fit(mnist.train_images, mnist.train_labels, TrainConfig())
model.score(mnist.test_images, mnist.test_labels)   # ≈ 0.98
model.record.history[-1].loss                       # what training did, kept when saved

A network's own settings (`ModelConfig`: widths, init, dtype, seed; `model.config`) are apart
from how it is trained (`TrainConfig`); `RunConfig` holds one of each, as a preset does.
"""

from .core.config import ModelConfig, RunConfig, TrainConfig
from .core.data import MNIST, load_mnist
from .core.errors import (
    ConfigError,
    DataError,
    DigitLabError,
    EmptyImageError,
    ImageError,
    ModelFileError,
)
from .core.network import MLP
from .core.persistence import load_model, save_model
from .core.record import ModelRecord

__all__ = [
    "MLP",
    "MNIST",
    "ConfigError",
    "DataError",
    "DigitLabError",
    "EmptyImageError",
    "ImageError",
    "ModelConfig",
    "ModelFileError",
    "ModelRecord",
    "RunConfig",
    "TrainConfig",
    "load_mnist",
    "load_model",
    "save_model",
]
