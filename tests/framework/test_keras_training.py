"""The Keras engine's training as the rest of Digit Lab uses it: checkpoints, stops, divergence, export."""

from __future__ import annotations

import threading
from dataclasses import replace

import keras
import numpy as np

import nn.framework.training
from nn import ModelConfig, RunConfig, TrainConfig
from nn.core.checkpoint import load_checkpoint, save_checkpoint
from nn.core.events import BatchProgress, EpochEnd, TrainingEnd
from nn.core.training import TrainingData
from nn.engines import start_training
from nn.export.to_keras import export
from nn.framework.engine import KerasEngine

SMALL = RunConfig(
    ModelConfig(hidden=(32,)),
    TrainConfig(epochs=3, train_size=3000, optimizer="adam", lr=0.003, augment="affine", engine="tensorflow"),
)


def test_a_checkpoint_carries_a_tensorflow_training_on_as_if_it_had_never_stopped(mnist, tmp_path) -> None:
    straight = start_training(SMALL, mnist, threads=1)
    for _ in straight.events():
        pass
    first = start_training(SMALL, mnist, threads=1)
    for event in first.events():
        if isinstance(event, EpochEnd) and event.epoch == 2:
            save_checkpoint(first.model, first.state(), tmp_path / "run.ckpt.npz")
            break
    checkpoint = load_checkpoint(tmp_path / "run.ckpt.npz")
    resumed = KerasEngine(threads=1).start(
        checkpoint.model, SMALL.training, TrainingData.for_run(SMALL.training, mnist)
    )
    resumed.restore(checkpoint.state)
    events = list(resumed.events())
    assert [e.epoch for e in events if isinstance(e, EpochEnd)] == [3]
    np.testing.assert_allclose(resumed.model.params, straight.model.params, rtol=0, atol=1e-6)
    assert resumed.model.record.epochs_done == 3 and len(resumed.model.record.history) == 3


def test_stop_ends_after_the_current_batch_and_keeps_the_weights_learned_so_far(mnist) -> None:
    stop = threading.Event()
    training = start_training(SMALL, mnist, threads=1)
    events = []
    for event in training.events(stop):
        events.append(event)
        if isinstance(event, BatchProgress) and event.epoch == 2:
            stop.set()
    assert isinstance(events[-1], TrainingEnd) and events[-1].status == "stopped"
    assert events[-1].epochs_done == 1 and training.model.record.status == "stopped"
    after_epoch_one = [e for e in events if isinstance(e, EpochEnd)]
    assert len(after_epoch_one) == 1
    assert training.model.score(*training.data.test) != after_epoch_one[0].test_accuracy, (
        "part of epoch 2 is kept"
    )


def test_a_loss_that_explodes_ends_the_run_at_once_with_the_last_epochs_weights(mnist, monkeypatch) -> None:
    # The learning rate explodes half-way: epoch 1 trains normally, epoch 2 blows up.
    monkeypatch.setattr(
        nn.framework.training, "learning_rate", lambda s, base, progress: base if progress < 0.5 else 1e30
    )
    config = replace(SMALL, training=replace(SMALL.training, epochs=2))
    training = start_training(config, mnist, threads=1)
    events = list(training.events())
    end = events[-1]
    assert end.status == "diverged" and end.epochs_done == 1 and "smaller learning rate" in end.message
    [epoch_one] = [e for e in events if isinstance(e, EpochEnd)]
    assert len([e for e in events if isinstance(e, BatchProgress) and e.epoch == 2]) <= 5, "at once"
    assert np.isfinite(training.model.params).all()
    assert training.model.score(*training.data.test) == epoch_one.test_accuracy, "epoch 1's weights"


def test_leaving_the_events_early_ends_the_training_thread(mnist) -> None:
    training = start_training(SMALL, mnist, threads=1)
    for event in training.events():
        if isinstance(event, BatchProgress):
            break
    assert not [t for t in threading.enumerate() if t.name == "keras fit"]


def test_a_keras_file_loads_with_plain_keras_and_gives_the_same_probabilities(
    shipped, mnist, tmp_path
) -> None:
    shipped.record = replace(shipped.record, temperature=1.7)  # the readout divides by it
    path = export(shipped, tmp_path / "digits.keras")
    loaded = keras.models.load_model(path)  # no custom objects
    images = mnist.test_images[:2000]
    pixels = (images.reshape(len(images), -1) / 255).astype("float32")
    np.testing.assert_allclose(loaded.predict(pixels, verbose=0), shipped.predict_proba(images), atol=1e-5)
