"""The live gradient check: backprop against central differences in float64, on real networks."""

import numpy as np
import pytest

from nn import MLP, load_mnist, load_model
from nn.core.config import ModelConfig
from nn.core.layers import ReLU
from nn.explain.gradcheck import RESOLVABLE, check_gradients

SHIPPED = "models/default.npz"


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


def test_backprop_agrees_to_1e_6_on_the_default_architecture(mnist):
    model = MLP(ModelConfig().hidden, seed=0)  # 784-128-64-10, float32: checked through a float64 copy
    before = model.params.copy()
    checks = check_gradients(model, mnist.test_images[0], int(mnist.test_labels[0]), per_layer=4)
    assert [c.layer for c in checks] == [0] * 4 + [1] * 4 + [2] * 4
    assert all(c.resolvable for c in checks)
    assert max(c.relative_error for c in checks) < 1e-6
    np.testing.assert_array_equal(model.params, before)


def test_backprop_agrees_to_1e_6_on_the_shipped_network_for_a_mistake(mnist):
    model = load_model(SHIPPED)
    wrong = int(np.flatnonzero(model.predict(mnist.test_images[:2000]) != mnist.test_labels[:2000])[0])
    checks = check_gradients(model, mnist.test_images[wrong], int(mnist.test_labels[wrong]), seed=1)
    assert len(checks) == 6 and all(c.resolvable for c in checks)
    assert max(c.relative_error for c in checks) < 1e-6


def test_a_sure_image_has_gradients_below_resolution_and_says_so(mnist):
    model = load_model(SHIPPED)
    checks = check_gradients(model, mnist.test_images[1], int(mnist.test_labels[1]))
    assert len(checks) == 6
    unresolved = [c for c in checks if not c.resolvable]
    assert unresolved and all(abs(c.backprop) < RESOLVABLE for c in unresolved)


def test_a_broken_backward_pass_is_caught(mnist, monkeypatch):
    # A ReLU that lets the gradient through where the unit did not fire: a classic backprop bug.
    monkeypatch.setattr(ReLU, "backward", lambda self, grad: grad)
    model = MLP((64, 32), seed=0)
    checks = check_gradients(model, mnist.test_images[0], int(mnist.test_labels[0]), per_layer=6)
    assert max(c.relative_error for c in checks if c.layer < 2) > 1e-2
