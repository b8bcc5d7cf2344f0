"""The engine interface: a training taken apart at an epoch's end goes on as if it never stopped."""

from __future__ import annotations

import numpy as np
import pytest

from nn.core.config import ModelConfig, RunConfig, TrainConfig
from nn.core.engine import ENGINES, Engine, start_training
from nn.core.events import EpochEnd, TrainingEnd
from nn.core.training import TrainingData

SMALL = RunConfig(ModelConfig(hidden=(16,)), TrainConfig(epochs=3, lr=0.05, batch_size=50, train_size=1000))


def config(**training: object) -> RunConfig:
    return RunConfig(SMALL.model, TrainConfig.from_dict(SMALL.training.to_dict() | training))


def figures(epochs: list[EpochEnd]) -> list[tuple]:
    """An epoch's figures but its time."""
    return [(e.epoch, e.loss, e.train_accuracy, e.test_accuracy, e.lr) for e in epochs]


@pytest.mark.parametrize(
    "settings",
    [
        {"optimizer": "sgd"},
        {"optimizer": "momentum", "weight_decay": 1e-3},
        {"optimizer": "adam", "lr": 0.003},
        {"optimizer": "momentum", "augment": "elastic"},
        {"optimizer": "adam", "lr": 0.003, "augment": "pen", "schedule": "step"},
    ],
)
def test_a_training_restored_from_its_state_ends_with_the_same_weights_bit_for_bit(mnist, settings) -> None:
    run_config = config(**settings)
    straight = start_training(run_config, mnist)
    straight_epochs = [e for e in straight.events() if isinstance(e, EpochEnd)]

    first = start_training(run_config, mnist)
    for event in first.events():
        if isinstance(event, EpochEnd) and event.epoch == 1:
            state = first.state()
            break
    resumed = start_training(run_config, mnist)  # a fresh network: its own first weights, overwritten
    resumed.restore(state)
    later_epochs = [e for e in resumed.events() if isinstance(e, EpochEnd)]

    np.testing.assert_array_equal(resumed.model.params, straight.model.params)
    assert [e.epoch for e in later_epochs] == [2, 3]
    assert figures(list(resumed.model.record.history)) == figures(straight_epochs)
    assert resumed.result == TrainingEnd("completed", 3, resumed.result.seconds, "trained 3 epochs")


def test_a_state_is_refused_by_a_training_of_another_config(mnist) -> None:
    training = start_training(SMALL, mnist)
    state = training.state()
    other = start_training(config(lr=0.01), mnist)
    with pytest.raises(ValueError, match="another training config"):
        other.restore(state)


def test_the_numpy_engine_builds_the_configured_network_and_trains_it_through_the_interface(mnist) -> None:
    engine: Engine = ENGINES["numpy"]
    model = engine.build(SMALL.model)
    assert model.layer_sizes == (784, 16, 10) and model.config == SMALL.model
    data = TrainingData.for_run(SMALL.training, mnist)
    training = engine.start(model, SMALL.training, data)
    ends = [e for e in training.events() if isinstance(e, TrainingEnd)]
    assert ends == [training.result] and training.result.status == "completed"
    assert training.model is model and model.record.epochs_done == 3 and model.score(*data.test) > 0.7
