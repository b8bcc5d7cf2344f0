"""The Keras engine's tests: the real MNIST, and TensorFlow's log lines kept quiet."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nn import MLP, load_mnist, load_model
from nn.core.data import MNIST

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads: no banner per test


@pytest.fixture(scope="session")
def mnist() -> MNIST:
    return load_mnist()


@pytest.fixture
def shipped() -> MLP:
    """The shipped model, fresh for each test (tests may change its record)."""
    return load_model(Path(__file__).resolve().parents[2] / "models" / "default.npz")
