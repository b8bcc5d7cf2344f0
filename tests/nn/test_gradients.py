"""Backpropagation checked against central finite differences, in float64.

Each analytic gradient is compared with (f(x + ε) − f(x − ε)) / 2ε through the relative error
‖a − n‖ / (‖a‖ + ‖n‖): about 1e-10 when the calculus is right, and of order 1 when a term is
missing, a transpose is wrong or a factor of the batch size is lost.
"""

from __future__ import annotations

import numpy as np
import pytest

from nn import MLP, ConfigError
from nn.core.layers import Dense, ReLU
from nn.core.losses import cross_entropy, softmax
from tests.support.gradients import numerical_gradient, relative_error

TOLERANCE = 1e-6


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def make_dense(rng: np.random.Generator, fan_in: int, fan_out: int) -> Dense:
    W, b = rng.standard_normal((fan_in, fan_out)), rng.standard_normal(fan_out)
    return Dense(W, b, np.zeros_like(W), np.zeros_like(b))


@pytest.mark.parametrize("batch", [4, 1])  # one sample takes its own (outer-product) path
def test_dense_gradients_match_finite_differences(rng: np.random.Generator, batch: int) -> None:
    layer = make_dense(rng, 7, 5)
    x = rng.standard_normal((batch, 7))
    upstream = rng.standard_normal((batch, 5))  # L = sum(y * upstream), so dL/dy = upstream

    def loss() -> float:
        return float(np.sum(layer.forward(x) * upstream))

    loss()
    dx = layer.backward(upstream)
    assert relative_error(layer.dW, numerical_gradient(loss, layer.W)) < TOLERANCE
    assert relative_error(layer.db, numerical_gradient(loss, layer.b)) < TOLERANCE
    assert relative_error(dx, numerical_gradient(loss, x)) < TOLERANCE


def test_dense_backward_overwrites_its_gradients_and_can_skip_the_input_gradient(
    rng: np.random.Generator,
) -> None:
    layer = make_dense(rng, 3, 2)
    x, upstream = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer.forward(x)
    layer.backward(upstream)
    first = layer.dW.copy()
    layer.forward(x)
    assert layer.backward(upstream, need_input_grad=False) is None
    np.testing.assert_allclose(layer.dW, first)  # overwritten, not accumulated
    np.testing.assert_allclose(layer.dW, x.T @ upstream)


def test_relu_gradient_matches_finite_differences(rng: np.random.Generator) -> None:
    x = rng.standard_normal((6, 8))
    x[np.abs(x) < 1e-3] = 0.5  # keep clear of the kink, where no derivative exists
    upstream = rng.standard_normal((6, 8))
    relu = ReLU()

    def loss() -> float:
        return float(np.sum(relu.forward(x.copy()) * upstream))  # forward works in place

    loss()
    dx = relu.backward(upstream.copy())  # backward works in place as well
    assert relative_error(dx, numerical_gradient(loss, x)) < TOLERANCE
    np.testing.assert_array_equal(dx[x < 0], 0.0)
    np.testing.assert_array_equal(dx[x > 0], upstream[x > 0])


def test_fused_softmax_cross_entropy_gradient_matches_finite_differences(rng: np.random.Generator) -> None:
    logits = rng.standard_normal((5, 10)) * 3
    labels = np.array([0, 3, 9, 3, 7])
    _, grad = cross_entropy(logits.copy(), labels)
    numeric = numerical_gradient(lambda: cross_entropy(logits, labels)[0], logits)
    assert relative_error(grad, numeric) < TOLERANCE


def test_cross_entropy_is_the_mean_negative_log_probability_of_the_label(rng: np.random.Generator) -> None:
    logits = rng.standard_normal((4, 10))
    labels = np.array([1, 2, 3, 4])
    expected = -np.mean(np.log(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True))[range(4), labels])
    loss, _ = cross_entropy(logits, labels)
    assert loss == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(softmax(logits).sum(axis=1), 1.0)


def test_loss_and_softmax_stay_finite_for_huge_logits() -> None:
    logits = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4 - 1.0]])
    labels = np.array([1, 2])
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        naive = -np.log(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True))[[0, 1], labels]
    assert not np.isfinite(naive).all(), "the textbook formula should overflow here"
    for dtype in (np.float64, np.float32):
        loss, grad = cross_entropy(logits.astype(dtype), labels)
        # Sample 0's label is 1e4 below the winner; sample 1's is 1 below it: log(1 + e⁻¹) + 1.
        expected = (1e4 + (np.log1p(np.exp(-1.0)) + 1.0)) / 2
        assert loss == pytest.approx(expected, rel=1e-6)
        assert np.isfinite(grad).all()
        np.testing.assert_allclose(grad[0], np.array([1.0, -1.0, 0.0]) / 2, atol=1e-6)
        assert np.isfinite(softmax(logits.astype(dtype))).all()


def test_cross_entropy_ignores_a_common_shift_of_the_logits(rng: np.random.Generator) -> None:
    logits, labels = rng.standard_normal((3, 10)), np.array([0, 5, 9])
    loss, grad = cross_entropy(logits.copy(), labels)
    shifted_loss, shifted_grad = cross_entropy(logits + 5000.0, labels)
    assert shifted_loss == pytest.approx(loss, rel=1e-9)
    np.testing.assert_allclose(shifted_grad, grad, atol=1e-12)


def test_a_network_without_hidden_layers_backpropagates_correctly(rng: np.random.Generator) -> None:
    # MLP insists on a hidden layer, so build softmax regression from the layers themselves.
    layer = make_dense(rng, 784, 10)
    layer.W *= 0.05
    x, labels = rng.random((3, 784)), np.array([2, 7, 7])

    def loss() -> float:
        return cross_entropy(layer.forward(x), labels)[0]

    _, grad_logits = cross_entropy(layer.forward(x), labels)
    layer.backward(grad_logits)
    indices = rng.choice(layer.W.size, 300, replace=False)
    assert (
        relative_error(layer.dW.reshape(-1)[indices], numerical_gradient(loss, layer.W, indices)) < TOLERANCE
    )
    assert relative_error(layer.db, numerical_gradient(loss, layer.b)) < TOLERANCE


def test_mlp_refuses_a_network_without_hidden_layers() -> None:
    with pytest.raises(ConfigError, match="hidden"):
        MLP(hidden=())


@pytest.mark.parametrize(
    ("hidden", "batch"), [((16,), 6), ((32, 16, 8), 6), ((5, 5, 5, 5), 6), ((32, 16, 8), 1)]
)
def test_whole_network_gradients_match_finite_differences(hidden: tuple[int, ...], batch: int) -> None:
    rng = np.random.default_rng(sum(hidden))
    model = MLP(hidden, dtype="float64", seed=3)
    model.params[model.n_weights :] = rng.standard_normal(model.params.size - model.n_weights) * 0.1
    x, labels = rng.random((batch, 784)), rng.integers(0, 10, batch)
    model.loss_and_gradients(x, labels)
    analytic = model.grads.copy()

    def loss() -> float:
        return cross_entropy(model.forward(x), labels)[0]

    # Every bias, and 150 random weights of every layer.
    indices = list(range(model.n_weights, model.params.size))
    start = 0
    for W in model.weights:
        indices += list(start + rng.choice(W.size, min(150, W.size), replace=False))
        start += W.size
    numeric = numerical_gradient(loss, model.params, indices)
    assert relative_error(analytic[indices], numeric) < TOLERANCE
    start = 0
    for i, W in enumerate(model.weights):  # and no layer's gradient is trivially zero
        assert np.abs(analytic[start : start + W.size]).sum() > 0, f"layer {i} {W.shape} got no gradient"
        start += W.size


def test_gradients_are_recomputed_not_accumulated(rng: np.random.Generator) -> None:
    model = MLP((8,), dtype="float64")
    x, labels = rng.random((4, 784)), np.array([0, 1, 2, 3])
    model.loss_and_gradients(x, labels)
    first = model.grads.copy()
    model.loss_and_gradients(x, labels)
    np.testing.assert_array_equal(model.grads, first)


def test_predicting_leaves_the_callers_images_unchanged(rng: np.random.Generator) -> None:
    model = MLP((8,))
    images = rng.random((3, 784)).astype(np.float32) - 0.5
    before = images.copy()
    probs = model.predict_proba(images)
    np.testing.assert_array_equal(images, before)
    assert probs.shape == (3, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
