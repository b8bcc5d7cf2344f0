"""The Keras engine's tests: the real MNIST, and TensorFlow's log lines kept quiet."""

from __future__ import annotations

import os

import pytest

from nn import load_mnist
from nn.core.data import MNIST

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads: no banner per test


@pytest.fixture(scope="session")
def mnist() -> MNIST:
    return load_mnist()
