"""Attacks: the input gradient is right, FGSM is its formula, PGD is stronger, ε = 0 is harmless."""

from __future__ import annotations

import numpy as np
import pytest

from nn import MLP
from nn.core.data import robustness_sample
from nn.core.losses import cross_entropy
from nn.core.network import as_batch
from nn.robustness.adversarial import (
    MAX_EPSILON,
    accuracy_under_attack,
    attack,
    attack_one,
    fgsm,
    pgd,
    smallest_flipping_epsilon,
)
from tests.support.gradients import numerical_gradient, relative_error

EPSILONS = [0.0, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3]


@pytest.fixture(scope="module")
def shipped(shipped_model):
    return shipped_model


@pytest.fixture(scope="module")
def sample(mnist):
    """The fixed 1,000 test images the app's curves use."""
    return robustness_sample(mnist)


def test_input_gradient_matches_finite_differences_in_float64() -> None:
    rng = np.random.default_rng(7)
    model = MLP(hidden=(16, 8), dtype="float64", seed=3)
    x = rng.uniform(0, 1, (3, 784))
    labels = np.array([3, 0, 9])

    def loss() -> float:  # the sum of each image's own loss: its gradient is each image's gradient
        return cross_entropy(model.forward(x), labels)[0] * len(labels)

    before = model.grads.copy()
    gradient, logits = model.input_gradient(x, labels)
    assert np.array_equal(model.grads, before), "attacking a model must not touch its training gradients"
    np.testing.assert_allclose(logits, model.forward(x))
    assert relative_error(gradient, numerical_gradient(loss, x)) < 1e-6
    alone, _ = model.input_gradient(x[1:2], labels[1:2])
    np.testing.assert_allclose(alone[0], gradient[1], rtol=1e-12, atol=1e-15)


def test_fgsm_step_equals_a_hand_computation_on_a_tiny_network() -> None:
    """784-1-10: one hidden unit h = relu(w·x + c), logits z = h·v + d, so dL/dx = (p − y)·v · w."""
    rng = np.random.default_rng(0)
    model = MLP(hidden=(1,), dtype="float64")
    w = rng.choice([-1.0, 0.0, 1.0], 784) * 0.01
    v = np.arange(10) - 4.5
    model.weights[0][:, 0], model.biases[0][...] = w, 0.5
    model.weights[1][0, :], model.biases[1][...] = v, 0.0
    x = rng.choice([0.0, 0.3, 1.0], 784)  # pixels at 0 and 1 test the clipping
    label, epsilon = 2, 0.1

    h = max(w @ x + 0.5, 0.0)
    assert h > 0, "the hidden unit must fire for the gradient to reach the pixels"
    z = h * v
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    dL_dh = (p - np.eye(10)[label]) @ v
    expected = np.clip(x + epsilon * np.sign(dL_dh * w), 0, 1)

    np.testing.assert_array_equal(fgsm(model, x, [label], epsilon)[0], expected)
    towards = 7  # targeted: down the loss of 7
    dL7_dh = (p - np.eye(10)[towards]) @ v
    np.testing.assert_array_equal(
        fgsm(model, x, [label], epsilon, target=towards)[0], np.clip(x - epsilon * np.sign(dL7_dh * w), 0, 1)
    )


@pytest.mark.parametrize("method", ["fgsm", "pgd"])
def test_epsilon_zero_changes_nothing(shipped, sample, method) -> None:
    images, labels = sample[0][:50], sample[1][:50]
    unchanged = attack(shipped, images, labels, 0.0, method)
    np.testing.assert_array_equal(unchanged, as_batch(images, shipped.dtype)[0])
    np.testing.assert_array_equal(shipped.predict(unchanged), shipped.predict(images))
    outcome = attack_one(shipped, images[0], 0.0, method, target=3)
    np.testing.assert_array_equal(outcome.adversarial, outcome.original)
    assert not outcome.flipped


@pytest.mark.parametrize("method", ["fgsm", "pgd"])
def test_perturbations_stay_within_epsilon_and_the_ink_range(shipped, sample, method) -> None:
    images, labels = sample[0][:100], sample[1][:100]
    x = images.reshape(100, 784) / np.float32(255)
    adversarial = attack(shipped, images, labels, 0.07, method, steps=5)
    assert np.abs(adversarial - x).max() <= 0.07 + 1e-6
    assert adversarial.min() >= 0 and adversarial.max() <= 1
    assert np.abs(adversarial - x).max() >= 0.07 - 1e-6, "the budget is spent, not wasted"


def test_accuracy_falls_monotonically_with_epsilon_on_the_fixed_sample(shipped, sample) -> None:
    images, labels = sample
    fgsm_curve = accuracy_under_attack(shipped, images, labels, EPSILONS, "fgsm")
    pgd_curve = accuracy_under_attack(shipped, images, labels, EPSILONS, "pgd")
    for curve in (fgsm_curve, pgd_curve):
        assert curve[0] == pytest.approx(shipped.score(images, labels))
        assert np.all(np.diff(curve) <= 0), curve
    assert np.all(pgd_curve <= fgsm_curve), "several projected steps find at least what one step finds"
    # Trained on noise but never adversarially, it loses to an attack what noise never took:
    tenth = EPSILONS.index(0.1)
    assert fgsm_curve[tenth] < fgsm_curve[0] - 0.3 and pgd_curve[tenth] < 0.5, "it falls at ε = 0.1"
    assert pgd_curve[-1] < 0.02


def test_a_targeted_attack_reaches_its_target(shipped, sample) -> None:
    images, labels = sample[0][:200], sample[1][:200]
    others = labels != 4
    adversarial = pgd(shipped, images[others], labels[others], 0.25, target=4)
    assert np.mean(shipped.predict(adversarial) == 4) > 0.9


@pytest.mark.parametrize("method", ["fgsm", "pgd"])
def test_the_smallest_flipping_epsilon_flips_and_a_little_less_does_not(shipped, sample, method) -> None:
    image = sample[0][0]
    answer = shipped.predict(image)
    epsilon = smallest_flipping_epsilon(shipped, image, method)
    assert epsilon is not None and 0 < epsilon < 0.3
    assert attack_one(shipped, image, epsilon, method).after.argmax() != answer
    assert attack_one(shipped, image, epsilon - 2e-3, method).after.argmax() == answer


def test_a_targeted_smallest_epsilon_reaches_the_target(shipped, sample) -> None:
    image = sample[0][1]
    target = (int(shipped.predict(image)) + 1) % 10
    epsilon = smallest_flipping_epsilon(shipped, image, "pgd", target=target)
    assert epsilon is not None
    assert attack_one(shipped, image, epsilon, "pgd", target=target).after.argmax() == target


def test_bad_arguments_are_refused_clearly(shipped, sample) -> None:
    image = sample[0][0]
    with pytest.raises(ValueError, match="ε must be between 0 and 1"):
        attack_one(shipped, image, MAX_EPSILON + 0.5)
    with pytest.raises(ValueError, match="unknown attack 'deepfool'"):
        attack_one(shipped, image, 0.1, "deepfool")
    with pytest.raises(ValueError, match="a target is a digit"):
        attack_one(shipped, image, 0.1, target=10)
    with pytest.raises(ValueError, match="at least one step"):
        pgd(shipped, image, [1], 0.1, steps=0)
