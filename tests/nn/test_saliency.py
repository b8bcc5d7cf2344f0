"""Saliency is the real derivative of the class-score margin, computed without side effects."""

import numpy as np
import pytest

from nn import MLP, TrainConfig, load_mnist
from nn.explain.saliency import saliency


@pytest.fixture(scope="module")
def trained64() -> MLP:
    """A small float64 network trained briefly on real digits, with non-zero biases."""
    mnist = load_mnist()
    config = TrainConfig(epochs=2, train_size=2000, lr=0.05)
    model = MLP((32, 16), dtype="float64", seed=3)
    return model.fit(mnist.train_images[:2000], mnist.train_labels[:2000], config)


def margin(model: MLP, x: np.ndarray, a: int, b: int) -> float:
    logits = model.forward(x.reshape(1, 784))[0]
    return float(logits[a] - logits[b])


@pytest.mark.parametrize("index", [0, 1, 2])
def test_gradient_matches_finite_differences_of_the_margin(trained64: MLP, index: int) -> None:
    x = load_mnist().test_images[index].astype(np.float64).ravel() / 255
    result = saliency(trained64, x)
    eps = 1e-6
    numeric = np.empty(784)
    for i in range(784):
        step = np.zeros(784)
        step[i] = eps
        plus = margin(trained64, x + step, result.predicted, result.runner_up)
        minus = margin(trained64, x - step, result.predicted, result.runner_up)
        numeric[i] = (plus - minus) / (2 * eps)
    assert np.abs(numeric).max() > 1e-3  # the check is not vacuous
    np.testing.assert_allclose(result.gradient.ravel(), numeric, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(result.attribution.ravel(), numeric * x, rtol=1e-5, atol=1e-7)
    assert result.margin == pytest.approx(margin(trained64, x, result.predicted, result.runner_up))


def test_explains_the_prediction_against_the_runner_up(trained64: MLP) -> None:
    image = load_mnist().test_images[5]
    result = saliency(trained64, image)
    order = np.argsort(trained64.predict_proba(image))[::-1]
    assert (result.predicted, result.runner_up) == (order[0], order[1])
    assert result.margin > 0
    np.testing.assert_allclose(result.probabilities, trained64.predict_proba(image), rtol=1e-12)
    assert result.gradient.shape == result.attribution.shape == (28, 28)


def test_contributions_add_up_to_the_margin_without_biases() -> None:
    # A bias-free ReLU network is positively homogeneous: m(x) = sum_i x_i dm/dx_i exactly.
    model = MLP((24, 12), dtype="float64", seed=5)
    result = saliency(model, load_mnist().test_images[7])
    assert result.attribution.sum() == pytest.approx(result.margin, rel=1e-9)


def test_chosen_pair_and_bad_pairs(trained64: MLP) -> None:
    image = load_mnist().test_images[0]
    result = saliency(trained64, image, target=3, versus=8)
    assert (result.predicted, result.runner_up) == (3, 8)
    x = image.astype(np.float64).ravel() / 255
    assert result.margin == pytest.approx(margin(trained64, x, 3, 8))
    with pytest.raises(ValueError, match="against itself"):
        saliency(trained64, image, target=4, versus=4)
    with pytest.raises(ValueError, match="0–9"):
        saliency(trained64, image, target=10)
    with pytest.raises(ValueError, match="one image at a time"):
        saliency(trained64, load_mnist().test_images[:2])


def test_leaves_the_model_untouched(trained64: MLP) -> None:
    params, grads = trained64.params.copy(), trained64.grads.copy()
    saliency(trained64, load_mnist().test_images[9])
    np.testing.assert_array_equal(trained64.params, params)
    np.testing.assert_array_equal(trained64.grads, grads)


def test_float32_model_gives_float32_maps() -> None:
    result = saliency(MLP((16,), seed=0), load_mnist().test_images[0])
    assert result.gradient.dtype == np.float32
