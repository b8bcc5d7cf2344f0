"""The training loop as a UI sees it: events, stopping from another thread, divergence, validation."""

from __future__ import annotations

import queue
import threading
from datetime import datetime, timedelta

import numpy as np
import pytest

import nn.core.training
from nn import MLP, ConfigError, ModelConfig, RunConfig, TrainConfig
from nn.core.engine import Training
from nn.core.training import BatchProgress, EpochEnd, TrainingEnd, train
from nn.engines import start_training

SMALL = {"hidden": (32,), "train_size": 3000}


def run_config(**values) -> RunConfig:
    return RunConfig.from_values(values)


def collect(run: Training, stop: threading.Event | None = None) -> list:
    return list(run.events(stop))


def test_events_report_batches_then_one_summary_per_epoch_and_end_with_the_run(mnist) -> None:
    run = start_training(run_config(**SMALL, epochs=2, batch_size=10), mnist)
    events = collect(run)
    assert isinstance(events[-1], TrainingEnd) and events[-1].status == "completed"
    assert events[-1].epochs_done == 2
    assert not any(isinstance(e, TrainingEnd) for e in events[:-1])
    epoch_ends = [e for e in events if isinstance(e, EpochEnd)]
    assert [e.epoch for e in epoch_ends] == [1, 2]
    for end in epoch_ends:
        position = events.index(end)
        progress = [e for e in events[:position] if isinstance(e, BatchProgress) and e.epoch == end.epoch]
        # About 50 updates per epoch whatever its length, in order, all inside the epoch.
        assert 40 <= len(progress) <= 60
        assert [p.batch for p in progress] == sorted({p.batch for p in progress})
        assert all(p.batches == 300 and 0 < p.batch < 300 and p.epochs == 2 for p in progress)
        assert all(np.isfinite(p.loss) and p.loss > 0 for p in progress)
        assert end.epochs == 2 and end.seconds > 0 and end.lr > 0
        assert 0 < end.loss < 2.5
        assert 0.5 < end.train_accuracy <= 1 and 0.5 < end.test_accuracy <= 1
        assert end.val_accuracy is None  # no validation split was asked for
    assert epoch_ends[1].loss < epoch_ends[0].loss, "the second epoch improves on the first"
    assert epoch_ends[1].test_accuracy == pytest.approx(run.model.score(*run.data.test))
    assert run.model.record.history == tuple(epoch_ends)


def test_the_run_describes_the_model_it_trained(mnist) -> None:
    config = run_config(**SMALL, epochs=1, seed=4)
    run = start_training(config, mnist)
    end = collect(run)[-1]
    record = run.model.record
    assert run.result is end
    assert run.model.config == config.model == ModelConfig(hidden=(32,), seed=4)
    assert record.training == config.training and record.training.seed == 4
    assert record.status == "completed" and record.epochs_done == 1
    assert record.test_accuracy == pytest.approx(run.model.score(mnist.test_images, mnist.test_labels))
    assert record.train_seconds > 0
    assert datetime.fromisoformat(record.trained_at).utcoffset() == timedelta(0), "stored in UTC"


def test_stop_set_before_training_takes_exactly_one_full_batch_step(mnist) -> None:
    images, labels = mnist.train_images[:100], mnist.train_labels[:100]
    config = TrainConfig(optimizer="sgd", lr=0.5, batch_size=100, schedule="constant")
    model, reference = MLP((16,), seed=0), MLP((16,), seed=0)
    stop = threading.Event()
    stop.set()
    events = list(train(model, images, labels, config, stop=stop))
    assert len(events) == 1 and events[0].status == "stopped" and events[0].epochs_done == 0
    assert "keeps the weights" in events[0].message
    # One step of full-batch gradient descent, whatever order the batch was shuffled in.
    reference.loss_and_gradients(images.reshape(100, 784) / np.float32(255), labels)
    np.testing.assert_allclose(model.params, reference.params - 0.5 * reference.grads, rtol=1e-4, atol=1e-6)
    assert not np.array_equal(model.params, reference.params)


def test_stop_from_another_thread_keeps_the_weights_learned_so_far(mnist) -> None:
    run = start_training(run_config(epochs=3), mnist)  # 938 batches per epoch: far from its end
    initial = run.model.params.copy()
    events: queue.Queue = queue.Queue()
    stop = threading.Event()
    worker = threading.Thread(target=lambda: [events.put(e) for e in run.events(stop)], daemon=True)
    worker.start()
    seen = []
    while not seen or not isinstance(seen[-1], TrainingEnd):
        seen.append(events.get(timeout=120))
        if isinstance(seen[-1], BatchProgress) and seen[-1].batch >= 50:
            stop.set()
    worker.join(timeout=10)
    assert not worker.is_alive()
    end = seen[-1]
    assert end.status == "stopped" and end.epochs_done == 0
    assert not any(isinstance(e, EpochEnd) for e in seen), "stopped promptly, long before the epoch's end"
    assert not np.array_equal(run.model.params, initial)
    assert np.isfinite(run.model.params).all()
    probs = run.model.predict_proba(mnist.test_images[:500])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert run.model.record.status == "stopped" and run.model.record.history == ()
    assert run.model.record.test_accuracy > 0.8, "fifty batches teach it a lot: the weights were kept"


def test_stop_after_an_epoch_counts_the_epochs_done(mnist) -> None:
    run = start_training(run_config(**SMALL, epochs=3), mnist)
    stop = threading.Event()
    events = []
    for event in run.events(stop):
        events.append(event)
        if isinstance(event, EpochEnd):
            stop.set()
    assert events[-1].status == "stopped" and events[-1].epochs_done == 1
    assert len(run.model.record.history) == 1


def test_a_second_run_counts_only_its_own_epochs_and_extends_the_history(mnist) -> None:
    images, labels = mnist.train_images[:500], mnist.train_labels[:500]
    model, config = MLP((16,)), TrainConfig(epochs=2)
    assert list(train(model, images, labels, config))[-1].epochs_done == 2
    stop = threading.Event()
    events = []
    for event in train(model, images, labels, config, stop=stop):
        events.append(event)
        if isinstance(event, EpochEnd):
            stop.set()
    assert events[-1].status == "stopped"
    assert events[-1].epochs_done == 1, "epochs done in this run, as for a completed or diverged run"
    assert len(model.record.history) == 3


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_divergence_stops_at_once_and_restores_the_last_completed_epoch(
    mnist, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The learning rate explodes half-way: epoch 1 trains normally, epoch 2 blows up.
    monkeypatch.setattr(
        nn.core.training, "learning_rate", lambda s, base, progress: base if progress < 0.5 else 1e30
    )
    images, labels = mnist.train_images[:2000], mnist.train_labels[:2000]
    model = MLP((32,), seed=0)
    config = TrainConfig(epochs=2, optimizer="sgd", lr=0.1, batch_size=50)
    after_epoch_1 = None
    events = []
    for event in train(model, images, labels, config):
        events.append(event)
        if isinstance(event, EpochEnd):
            after_epoch_1 = model.params.copy()
    end = events[-1]
    assert end.status == "diverged" and end.epochs_done == 1
    assert "smaller learning rate" in end.message and "epoch 2" in end.message
    assert [e.epoch for e in events if isinstance(e, EpochEnd)] == [1]
    diverged_at = [e.batch for e in events if isinstance(e, BatchProgress) and e.epoch == 2]
    assert len(diverged_at) <= 5, "stopped at once, not at the end of the epoch"
    np.testing.assert_array_equal(model.params, after_epoch_1)
    assert np.isfinite(model.params).all()
    assert model.score(images, labels) > 0.8
    assert len(model.record.history) == 1


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_the_largest_allowed_learning_rate_is_reported_as_divergence(mnist, optimizer: str) -> None:
    run = start_training(
        run_config(hidden=(32,), train_size=2000, epochs=2, lr=10.0, optimizer=optimizer), mnist
    )
    end = collect(run)[-1]
    assert end.status == "diverged", f"run {end.status} at test accuracy {run.model.record.test_accuracy}"
    assert "smaller learning rate" in end.message


def test_validation_split_is_reported_and_held_out_of_training(mnist) -> None:
    run = start_training(run_config(**SMALL, epochs=1, val_size=500), mnist)
    train_images, _ = run.data.train
    val_images, val_labels = run.data.validation
    assert len(train_images) == 2500 and len(val_images) == 500
    training_rows = {image.tobytes() for image in train_images}
    assert not any(image.tobytes() in training_rows for image in val_images)
    end = [e for e in collect(run) if isinstance(e, EpochEnd)][-1]
    assert end.val_accuracy == pytest.approx(run.model.score(val_images, val_labels))
    assert 0.5 < end.val_accuracy <= 1


def test_training_refuses_an_invalid_config(mnist) -> None:
    images, labels = mnist.train_images[:100], mnist.train_labels[:100]
    with pytest.raises(ConfigError, match="epochs"):
        list(train(MLP((16,)), images, labels, TrainConfig(epochs=0)))
    with pytest.raises(ConfigError, match="lr"):
        start_training(run_config(lr=-1.0), mnist)
    with pytest.raises(ConfigError, match="hidden"):
        start_training(run_config(hidden=(0,)), mnist)


def test_float64_training(mnist) -> None:
    run = start_training(run_config(**SMALL, epochs=1, lr=0.1, dtype="float64"), mnist)
    collect(run)
    assert run.model.params.dtype == np.float64
    assert run.model.record.test_accuracy > 0.8


def test_one_confidently_wrong_image_does_not_end_a_per_sample_run(mnist) -> None:
    # With batch size 1 a batch is one image, and a single image the network is sure about and
    # wrong on can cost a loss in the hundreds; that is learning, not divergence.
    run = start_training(run_config(hidden=(16,), epochs=1, batch_size=1, lr=0.01, train_size=1000), mnist)
    real = run.model.loss_and_gradients
    calls = iter(range(10**6))

    def one_spike(x, y):
        loss, logits = real(x, y)
        return (500.0 if next(calls) == 300 else loss), logits

    run.model.loss_and_gradients = one_spike
    end = collect(run)[-1]
    assert end.status == "completed", end.message
