"""AppTest fixtures: the app pointed at a temporary models directory, never the repository's."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nn.core.data import load_mnist
from nn.core.persistence import load_model
from services.locations import MODELS_DIR_ENV
from tests.support.app_driver import SHIPPED_MODEL


@pytest.fixture
def models_dir(tmp_path, monkeypatch) -> Path:
    """A models directory holding a copy of the shipped model, used by the app under test."""
    directory = tmp_path / "models"
    directory.mkdir()
    shutil.copy(SHIPPED_MODEL, directory / SHIPPED_MODEL.name)
    monkeypatch.setenv(MODELS_DIR_ENV, str(directory))
    return directory


@pytest.fixture(scope="session")
def mnist():
    return load_mnist()


@pytest.fixture(scope="session")
def shipped_model():
    return load_model(SHIPPED_MODEL)
