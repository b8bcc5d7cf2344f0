"""Shared fixtures for the engine's tests: the real MNIST, and one network trained on it once."""

from __future__ import annotations

from pathlib import Path

import pytest

from nn import MLP, RunConfig, TrainConfig, load_mnist, load_model, save_model
from nn.core.data import MNIST
from nn.engines import start_training

QUICK_CONFIG = RunConfig(
    training=TrainConfig(epochs=2)
)  # the default network and optimizer, ~97 % test accuracy
SHIPPED_MODEL = Path(__file__).resolve().parents[2] / "models" / "default.npz"


@pytest.fixture(scope="session")
def mnist() -> MNIST:
    return load_mnist()


@pytest.fixture(scope="session")
def trained_model(mnist: MNIST) -> MLP:
    """The default 784-128-64-10 network after two epochs on all of MNIST (shared: do not modify)."""
    run = start_training(QUICK_CONFIG, mnist)
    for _ in run.events():
        pass
    assert run.result is not None and run.result.status == "completed"
    return run.model


@pytest.fixture(scope="session")
def model_file(trained_model: MLP, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_model(trained_model, tmp_path_factory.mktemp("model") / "model.npz")


@pytest.fixture(scope="session")
def shipped_model() -> MLP:
    """The app's model, models/default.npz: 784-1600-800-10 (shared: do not modify)."""
    return load_model(SHIPPED_MODEL)
