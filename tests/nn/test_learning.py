"""The network learns: it can memorise, it generalises on MNIST, and the same seed gives the same run."""

from __future__ import annotations

import numpy as np
import pytest

from nn import MLP, RunConfig, TrainConfig
from nn.core.engine import Training
from nn.core.training import BatchProgress, EpochEnd, train
from nn.engines import start_training


def run_to_end(config: RunConfig, mnist) -> Training:
    run = start_training(config, mnist)
    events = list(run.events())
    assert events[-1].status == "completed", events[-1].message
    return run


def test_a_small_network_memorises_a_tiny_batch(mnist) -> None:
    images, labels = mnist.train_images[:32], mnist.train_labels[:32]
    model = MLP((64,), seed=1)
    config = TrainConfig(epochs=200, batch_size=32, optimizer="adam", lr=0.01, schedule="constant")
    losses = [e.loss for e in train(model, images, labels, config) if isinstance(e, EpochEnd)]
    assert losses[0] > 1.0, "it starts out guessing"
    assert losses[-1] < 0.01
    assert model.score(images, labels) == 1.0


def test_one_epoch_on_full_mnist_reaches_95_percent(mnist) -> None:
    run = run_to_end(RunConfig.from_values({"epochs": 1}), mnist)
    assert run.model.record.test_accuracy >= 0.95


def test_the_classic_per_sample_mode_learns_from_a_subset(mnist) -> None:
    config = RunConfig.from_values(
        dict(
            hidden=(30,),
            epochs=1,
            batch_size=1,
            optimizer="sgd",
            lr=0.01,
            schedule="constant",
            train_size=3000,
        )
    )
    run = start_training(config, mnist)
    events = list(run.events())
    assert {e.batches for e in events if isinstance(e, BatchProgress)} == {3000}, "one update per image"
    assert run.model.record.test_accuracy > 0.8  # chance is 0.1


def test_small_initialisation_learns_too(mnist) -> None:
    run = run_to_end(
        RunConfig.from_values(dict(hidden=(64,), epochs=2, init="small", train_size=5000, batch_size=64)),
        mnist,
    )
    assert run.model.record.test_accuracy > 0.85


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_other_optimizers_learn(mnist, optimizer: str) -> None:
    lr = {"sgd": 0.1, "adam": 0.002}[optimizer]
    run = run_to_end(
        RunConfig.from_values(
            dict(hidden=(64,), epochs=2, optimizer=optimizer, lr=lr, train_size=5000, batch_size=64)
        ),
        mnist,
    )
    assert run.model.record.test_accuracy > 0.85


def test_the_same_seed_gives_the_same_weights_and_another_seed_does_not(mnist) -> None:
    def weights(seed: int) -> np.ndarray:
        return run_to_end(
            RunConfig.from_values(dict(hidden=(32,), epochs=2, train_size=1000, seed=seed)), mnist
        ).model.params

    first = weights(7)
    np.testing.assert_array_equal(weights(7), first)
    assert not np.allclose(weights(8), first)


def test_weight_decay_keeps_the_weights_smaller(mnist) -> None:
    def weight_norm(decay: float) -> float:
        config = RunConfig.from_values(
            dict(hidden=(32,), epochs=2, train_size=2000, lr=0.1, batch_size=64, weight_decay=decay)
        )
        model = run_to_end(config, mnist).model
        return float(np.linalg.norm(model.params[: model.n_weights]))

    assert weight_norm(0.01) < 0.8 * weight_norm(0.0)


@pytest.mark.slow
def test_the_defaults_reach_98_percent_in_20_epochs(mnist) -> None:
    config = RunConfig()
    assert (config.model.hidden, config.training.epochs) == ((128, 64), 20)
    run = run_to_end(config, mnist)
    assert run.model.record.test_accuracy >= 0.98
