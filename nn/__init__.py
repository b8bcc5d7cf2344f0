"""Digit Lab's neural-network engine: an MLP for MNIST in plain NumPy.

from nn import MLP, TrainConfig, load_mnist
mnist = load_mnist()
model = MLP(hidden=(128, 64)).fit(mnist.train_images, mnist.train_labels, TrainConfig())
model.score(mnist.test_images, mnist.test_labels)   # ≈ 0.98
"""

from .config import TrainConfig
from .data import MNIST, load_mnist
from .errors import (
    ConfigError,
    DataError,
    DigitLabError,
    EmptyImageError,
    ImageError,
    ModelFileError,
)
from .network import MLP
from .persistence import load_model, save_model

__all__ = [
    "MLP",
    "MNIST",
    "ConfigError",
    "DataError",
    "DigitLabError",
    "EmptyImageError",
    "ImageError",
    "ModelFileError",
    "TrainConfig",
    "load_mnist",
    "load_model",
    "save_model",
]
