"""The training loop: minibatch gradient descent that reports as it goes and can be stopped.

`train` is a generator of small, plain events, so the same loop serves the command line (which
prints them), the app (which charts them from a background thread) and the tests (which assert
on them). It never prints and keeps no global state.

Batch size 1 is the classic stochastic mode: the weights move after every single image.

The loop needs only a network and a `TrainConfig`: how the network is built is its own
business (`MLP.config`). When the run ends the loop writes the model's `record`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from . import augment
from .config import TrainConfig
from .events import BatchProgress, EpochEnd, Event, RunEnd
from .optimizers import make_optimizer
from .schedules import learning_rate

if TYPE_CHECKING:
    from .network import MLP

PROGRESS_UPDATES_PER_EPOCH = 50
# An untrained network scores ln 10 ≈ 2.3. Even one confidently wrong image rarely costs 100
# (with batch size 1 a batch is one image); a loss of 10,000 means logits of ten thousand: the
# steps have overshot and the run will not recover.
DIVERGED_LOSS = 1e4
# Steps that overshoot do not always explode: the loss can bounce around chance for ever while
# the ReLUs die. An epoch whose average loss is half as high again as both the run's first batch
# and blind guessing (ln 10; a fine-tuned model starts far below it) is heading the wrong way.
OVERSHOOT = 1.5


LabelledSet = tuple[np.ndarray, np.ndarray]


def train(
    model: MLP,
    images: np.ndarray,
    labels: np.ndarray,
    config: TrainConfig,
    *,
    validation: LabelledSet | None = None,
    test: LabelledSet | None = None,
    stop: threading.Event | None = None,
) -> Iterator[Event]:
    """Train `model` in place on uint8 or [0, 1] images, yielding progress as it goes.

    Setting `stop` (from any thread) ends the run after the current batch, keeping the
    weights learned so far. A loss that explodes ends it at once and restores the weights of
    the last completed epoch. Either way the last event is a `RunEnd`, after which
    `model.record` describes the training: `config`, one `EpochEnd` per completed epoch (after
    those of any earlier training of the same model), when it started (UTC), for how long, how
    it ended and (given `test`) the test accuracy. A softmax temperature fitted before is
    dropped: it belonged to the old weights.
    """
    started = datetime.now(UTC)
    history: list[EpochEnd] = list(model.record.history)
    for event in _epochs(model, images, labels, config, validation, test, stop):
        if isinstance(event, EpochEnd):
            history.append(event)
        elif isinstance(event, RunEnd):
            _describe(model, config, history, event, started, test)
        yield event


def _describe(
    model: MLP,
    config: TrainConfig,
    history: list[EpochEnd],
    end: RunEnd,
    started: datetime,
    test: LabelledSet | None,
) -> None:
    model.record = replace(
        model.record,
        training=config,
        history=tuple(history),
        trained_at=started.isoformat(timespec="seconds"),
        train_seconds=round(end.seconds, 3),
        status=end.status,
        epochs_done=end.epochs_done,
        test_accuracy=model.score(*test) if test is not None else None,  # of these weights, if measured
        temperature=None,
    )


def _epochs(
    model: MLP,
    images: np.ndarray,
    labels: np.ndarray,
    config: TrainConfig,
    validation: LabelledSet | None,
    test: LabelledSet | None,
    stop: threading.Event | None,
) -> Iterator[Event]:
    config.validate()
    rng = np.random.default_rng(config.seed)
    optimizer = make_optimizer(
        config.optimizer, model.params, model.grads, model.n_weights, config.weight_decay, config.momentum
    )
    n, bs = len(labels), config.batch_size
    batches = math.ceil(n / bs)
    report_every = max(1, batches // PROGRESS_UPDATES_PER_EPOCH)
    scale = 1 / 255 if images.dtype == np.uint8 else 1.0
    # Every batch is converted into this one array: with a fresh one per batch, epochs at batch
    # size 2048 took 8–11 % longer (presumably because its pages were mapped afresh every time).
    batch = np.empty((bs, images[0].size), model.dtype)
    started = time.perf_counter()
    starting_loss = 0.0

    for epoch in range(1, config.epochs + 1):
        epoch_start = time.perf_counter()
        snapshot = model.params.copy()
        order = rng.permutation(n)
        # Batches are gathered through `order` straight from the images (distorted or not):
        # cheaper than shuffling a copy of the whole set (47 MB for MNIST) every epoch.
        pixels = augment.distort(images, rng, config.augment).reshape(n, -1)
        predicted = np.empty(n, np.intp)  # counted once per epoch, not once per batch
        loss_sum = 0.0
        for b in range(batches):
            rows = order[b * bs : (b + 1) * bs]
            x = np.multiply(pixels.take(rows, axis=0), scale, out=batch[: len(rows)], dtype=model.dtype)
            y = labels[rows]
            loss, logits = model.loss_and_gradients(x, y)
            starting_loss = starting_loss or loss
            if not loss < DIVERGED_LOSS:  # also true for NaN
                model.params[...] = snapshot
                why = f"the loss exploded (NaN, infinite or over {DIVERGED_LOSS:g})"
                yield _diverged(epoch, time.perf_counter() - started, config.lr, why)
                return
            lr = learning_rate(config.schedule, config.lr, (epoch - 1 + b / batches) / config.epochs)
            optimizer.step(lr)
            loss_sum += loss * len(y)
            predicted[rows] = logits.argmax(axis=1)
            if (b + 1) % report_every == 0 and b + 1 < batches:
                yield BatchProgress(epoch, config.epochs, b + 1, batches, loss_sum / min(n, (b + 1) * bs))
            if stop is not None and stop.is_set():
                yield _stopped(epoch, epoch - 1, time.perf_counter() - started)
                return
        epoch_loss = loss_sum / n
        if epoch_loss > OVERSHOOT * max(starting_loss, math.log(model.layer_sizes[-1])):
            model.params[...] = snapshot
            why = f"its average loss {epoch_loss:.2f} is far worse than at the start ({starting_loss:.2f})"
            yield _diverged(epoch, time.perf_counter() - started, config.lr, why)
            return
        end = EpochEnd(
            epoch=epoch,
            epochs=config.epochs,
            loss=epoch_loss,
            train_accuracy=np.count_nonzero(predicted == labels) / n,
            val_accuracy=model.score(*validation) if validation is not None else None,
            test_accuracy=model.score(*test) if test is not None else None,
            seconds=time.perf_counter() - epoch_start,
            lr=lr,
        )
        yield end
    yield RunEnd("completed", config.epochs, time.perf_counter() - started, f"trained {config.epochs} epochs")


def _diverged(epoch: int, seconds: float, lr: float, why: str) -> RunEnd:
    return RunEnd(
        "diverged",
        epoch - 1,
        seconds,
        f"training diverged in epoch {epoch}: {why}. "
        f"Try a smaller learning rate than {lr:g}. The model keeps the weights it had before "
        f"epoch {epoch}.",
    )


def _stopped(epoch: int, epochs_done: int, seconds: float) -> RunEnd:
    return RunEnd(
        "stopped",
        epochs_done,
        seconds,
        f"stopped during epoch {epoch}; the model keeps the weights learned so far",
    )
