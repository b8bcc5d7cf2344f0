"""Adversarial training: every batch also trains on its own FGSM images, and it pays off under attack."""

from __future__ import annotations

import numpy as np

from nn import MLP, TrainConfig
from nn.core.training import with_attacked
from nn.robustness.adversarial import accuracy_under_attack


def test_the_attacked_half_is_the_batch_moved_by_epsilon_against_the_loss(trained_model, mnist) -> None:
    x = mnist.test_images[:64].reshape(64, -1) / np.float32(255)
    y = mnist.test_labels[:64]
    both, labels = with_attacked(trained_model, x.astype(np.float32), y, 0.1)
    assert both.shape == (128, 784) and np.array_equal(labels, np.concatenate([y, y]))
    moved = both[64:] - x
    assert np.abs(moved).max() <= 0.1 + 1e-6 and np.all((both >= 0) & (both <= 1))
    gradient, _ = trained_model.input_gradient(x, y)
    free = (x > 0.1) & (x < 0.9)  # where the clip to [0, 1] cannot cut the step short
    np.testing.assert_allclose(moved[free], 0.1 * np.sign(gradient[free]), atol=1e-6)
    assert trained_model.score(both[64:], y) < trained_model.score(x, y), "the attacked half is harder"


def test_adversarial_training_buys_accuracy_under_attack(mnist) -> None:
    images, labels = mnist.train_images[:10_000], mnist.train_labels[:10_000]
    test = mnist.test_images[:2000], mnist.test_labels[:2000]
    plain = MLP(hidden=(64,), seed=2).fit(images, labels, TrainConfig(epochs=4))
    steady = MLP(hidden=(64,), seed=2).fit(images, labels, TrainConfig(epochs=4, adversarial=0.1))
    [plain_attacked] = accuracy_under_attack(plain, *test, [0.1])
    [steady_attacked] = accuracy_under_attack(steady, *test, [0.1])
    assert steady_attacked > plain_attacked + 0.2, (plain_attacked, steady_attacked)
    assert steady.score(*test) > plain.score(*test) - 0.08, "at some cost in clean accuracy"
    assert steady.record.training.adversarial == 0.1


def test_only_the_numpy_engine_trains_adversarially() -> None:
    problems = TrainConfig(adversarial=0.1, engine="tensorflow").problems()
    assert "needs the numpy engine" in problems["adversarial"]
    assert TrainConfig(adversarial=0.1).problems() == {}
