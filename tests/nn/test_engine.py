"""The engine interface: a training taken apart at an epoch's end goes on as if it never stopped."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nn.core.checkpoint import STATE, CheckpointError, load_checkpoint, save_checkpoint
from nn.core.config import ModelConfig, RunConfig, TrainConfig
from nn.core.engine import Engine, NumpyEngine
from nn.core.events import EpochEnd, TrainingEnd
from nn.core.training import TrainingData
from nn.engines import start_training

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
    engine: Engine = NumpyEngine()
    model = engine.build(SMALL.model)
    assert model.layer_sizes == (784, 16, 10) and model.config == SMALL.model
    data = TrainingData.for_run(SMALL.training, mnist)
    training = engine.start(model, SMALL.training, data)
    ends = [e for e in training.events() if isinstance(e, TrainingEnd)]
    assert ends == [training.result] and training.result.status == "completed"
    assert training.model is model and model.record.epochs_done == 3 and model.score(*data.test) > 0.7


def test_a_checkpoint_file_carries_a_training_across_processes_bit_for_bit(mnist, tmp_path) -> None:
    run_config = config(optimizer="adam", lr=0.003, augment="affine")
    straight = start_training(run_config, mnist)
    for _ in straight.events():
        pass
    first = start_training(run_config, mnist)
    for event in first.events():
        if isinstance(event, EpochEnd) and event.epoch == 2:
            save_checkpoint(first.model, first.state(), tmp_path / "run.ckpt.npz")
            break
    checkpoint = load_checkpoint(tmp_path / "run.ckpt.npz")
    resumed = NumpyEngine().start(
        checkpoint.model, run_config.training, TrainingData.for_run(SMALL.training, mnist)
    )
    resumed.restore(checkpoint.state)
    for _ in resumed.events():
        pass
    np.testing.assert_array_equal(resumed.model.params, straight.model.params)
    assert figures(list(resumed.model.record.history)) == figures(list(straight.model.record.history))


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda entries: entries.pop("rng"), "must hold exactly"),
        (lambda entries: entries.update(rng={"bit_generator": "PCG64", "state": "x"}), "rng"),
        (lambda entries: entries.update(epochs_done=99), "99 epochs done of 3"),
        (lambda entries: entries.update(steps=-1), "steps"),
        (lambda entries: entries.update(config={"lr": "fast"}), "config"),
        (
            lambda entries: entries.update(optimizer="sgd") or entries["config"].update(optimizer="sgd"),
            "exactly",
        ),
        (lambda entries: entries["config"].update(optimizer="sgd"), "an? sgd optimizer keeps 0 averages"),
    ],
)
def test_a_damaged_checkpoint_is_refused_in_words(mnist, tmp_path, change, words: str) -> None:
    training = start_training(config(optimizer="momentum"), mnist)
    path = save_checkpoint(training.model, training.state(), tmp_path / "good.npz")
    arrays = dict(np.load(path))
    entries = json.loads(str(arrays[STATE]))
    change(entries)
    arrays[STATE] = np.array(json.dumps(entries))
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(CheckpointError, match=words):
        load_checkpoint(tmp_path / "bad.npz")


def test_a_checkpoint_that_is_not_a_file_of_ours_is_refused(tmp_path) -> None:
    (tmp_path / "junk.npz").write_bytes(b"not a zip at all")
    with pytest.raises(CheckpointError, match="cannot be used"):
        load_checkpoint(tmp_path / "junk.npz")
