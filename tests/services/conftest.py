"""Shared fixtures for the services' tests."""

from __future__ import annotations

import pytest

from nn.core.data import MNIST, load_mnist


@pytest.fixture(scope="session")
def mnist() -> MNIST:
    return load_mnist()
