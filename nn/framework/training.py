"""`KerasTraining`: Keras' `fit`, with callbacks, streamed as `nn.core`'s events.

`fit` drives the loop and calls back at every batch and epoch; `nn.core.engine.Training` is a
generator that the worker, the command line and the tests pull events from. So `fit` runs in a
thread of its own and hands each event over (`_Handoff`), waiting until the consumer asks for
the next: when an `EpochEnd` is being handled (charted, checkpointed with `state()`), the
network and the optimizer are exactly at that epoch's end.

The callback (`_Reporter`) is where `nn.core.training.NumpyTraining`'s loop body went: it sets
each batch's learning rate from `nn.core.schedules`, reports progress 50 times an epoch, watches
for a loss that explodes or overshoots, stops when asked, and copies the weights into the `MLP`
at every epoch's end, which is what a stop or a divergence leaves it with.

Keras reports the epoch's running mean loss after each batch, not the batch's own: a loss that
explodes is seen in that mean, a batch or so later than `nn.core` sees it, with the same outcome.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import keras
import numpy as np

from nn.core.config import TrainConfig
from nn.core.events import BatchProgress, EpochEnd, Event, TrainingEnd
from nn.core.network import MLP
from nn.core.optimizers import OptimizerState
from nn.core.schedules import learning_rate
from nn.core.training import (
    DIVERGED_LOSS,
    EXPLODED,
    PROGRESS_UPDATES_PER_EPOCH,
    BaseTraining,
    TrainingData,
    completed,
    diverged,
    stopped,
)

from . import backends
from .batches import Batches
from .network import copy_weights, flat, logits_network, unflat
from .optimizers import floatx, make_optimizer, running_averages

EVALUATION_BATCH = 4096  # images per forward pass when measuring accuracy


class KerasTraining(BaseTraining):
    """One network trained by Keras' `fit` by one `TrainConfig`, as `nn.core` would train it."""

    def __init__(self, model: MLP, config: TrainConfig, data: TrainingData, device: str):
        super().__init__(model, config, data, device)
        dtype = model.dtype.name
        self.network = logits_network(model)
        # Keras makes the learning rate, the loss and the metrics in its default float type: in
        # float32 a float64 network's loss (and so every gradient) would be rounded to float32.
        with floatx(dtype):
            self.optimizer = make_optimizer(config)
            self.network.compile(
                optimizer=self.optimizer,
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
                jit_compile=backends.jit_compile(),
            )
        self.optimizer.build(self.network.trainable_variables)
        self.batches = Batches(*data.train, config, self.rng, dtype, model.deskews)

    def accuracy(self, images: np.ndarray, labels: np.ndarray) -> float:
        """Accuracy of the network as it is now, computed by the framework (on its device)."""
        right = 0
        for start in range(0, len(images), EVALUATION_BATCH):
            chunk, _ = self.model.prepare(images[start : start + EVALUATION_BATCH])
            logits = keras.ops.convert_to_numpy(self.network(chunk, training=False))
            right += int(np.count_nonzero(logits.argmax(axis=1) == labels[start : start + EVALUATION_BATCH]))
        return right / len(images)

    # -- the state, in nn.core's layout ----------------------------------------------------------

    def _params(self) -> np.ndarray:
        return flat(self.model, self.network.get_weights())

    def _optimizer_state(self) -> OptimizerState:
        averages = tuple(
            flat(self.model, [keras.ops.convert_to_numpy(v) for v in variables])
            for variables in running_averages(self.optimizer)
        )
        return OptimizerState(int(keras.ops.convert_to_numpy(self.optimizer.iterations)), averages)

    def _restore(self, params: np.ndarray, optimizer: OptimizerState) -> None:
        self.network.set_weights(unflat(self.model, params))
        self.model.params[...] = params
        kept = running_averages(self.optimizer)
        if len(optimizer.averages) != len(kept):
            raise ValueError(f"the optimizer state holds {len(optimizer.averages)} averages, not {len(kept)}")
        for variables, saved in zip(kept, optimizer.averages):
            for variable, array in zip(variables, unflat(self.model, saved)):
                variable.assign(array)
        self.optimizer.iterations.assign(optimizer.steps)

    # -- the loop ----------------------------------------------------------------------------

    def _epochs(self, stop: threading.Event | None, started: float) -> Iterator[Event]:
        handoff = _Handoff()
        reporter = _Reporter(self, stop or threading.Event(), started, handoff)
        thread = threading.Thread(target=self._fit, args=(reporter, handoff), name="keras fit", daemon=True)
        thread.start()
        try:
            yield from handoff.received()
        finally:
            reporter.abandoned.set()  # the consumer left early: end `fit` after this batch
            handoff.close()
            thread.join()

    def _fit(self, reporter: _Reporter, handoff: _Handoff) -> None:
        try:
            self.network.fit(
                self.batches,
                epochs=self.config.epochs,
                initial_epoch=self.epochs_done,
                callbacks=[reporter],
                verbose=0,
                shuffle=False,  # the batches are shuffled already, by nn.core's generator
            )
            if reporter.end is None:
                reporter.end = completed(self.config.epochs, time.perf_counter() - reporter.started)
            handoff.send(reporter.end)
        except BaseException as exc:
            handoff.fail(exc)


class _Reporter(keras.callbacks.Callback):
    """The per-batch and per-epoch work of `nn.core`'s loop, as Keras callbacks."""

    def __init__(self, training: KerasTraining, stop: threading.Event, started: float, handoff: _Handoff):
        super().__init__()
        self.training, self.stop, self.started, self.handoff = training, stop, started, handoff
        self.abandoned = threading.Event()
        self.end: TrainingEnd | None = None
        self.batches = len(training.batches)
        self.report_every = max(1, self.batches // PROGRESS_UPDATES_PER_EPOCH)
        self.epoch, self.batch, self.lr, self.epoch_start = 0, 0, 0.0, 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch, self.batch, self.epoch_start = epoch + 1, 0, time.perf_counter()

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        config = self.training.config
        progress = (self.epoch - 1 + batch / self.batches) / config.epochs
        self.lr = learning_rate(config.schedule, config.lr, progress)
        self.training.optimizer.learning_rate.assign(self.lr)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.batch = batch + 1
        mean_loss = float(logs["loss"])
        training, config = self.training, self.training.config
        training.starting_loss = training.starting_loss or mean_loss
        if not mean_loss < DIVERGED_LOSS:  # also true for NaN
            self._end(diverged(self.epoch, self._seconds(), config.lr, EXPLODED))
        elif self.stop.is_set() or self.abandoned.is_set():
            copy_weights(self.model, training.model)  # a stopped run keeps what it learned
            self._end(stopped(self.epoch, self.epoch - 1, self._seconds()))
        elif self.batch % self.report_every == 0 and self.batch < self.batches:
            self.handoff.send(BatchProgress(self.epoch, config.epochs, self.batch, self.batches, mean_loss))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.end is not None:  # Keras ends the epoch it was stopped in, too
            return
        training, data = self.training, self.training.data
        epoch_loss = float(logs["loss"])
        if training.overshot(epoch_loss):
            self._end(training.overshoot_end(self.epoch, epoch_loss, self._seconds(), training.config.lr))
            return
        copy_weights(self.model, training.model)
        self.handoff.send(
            EpochEnd(
                epoch=self.epoch,
                epochs=training.config.epochs,
                loss=epoch_loss,
                train_accuracy=float(logs["accuracy"]),
                val_accuracy=training.accuracy(*data.validation) if data.validation is not None else None,
                test_accuracy=training.accuracy(*data.test) if data.test is not None else None,
                seconds=time.perf_counter() - self.epoch_start,
                lr=self.lr,
            )
        )

    def _end(self, end: TrainingEnd) -> None:
        self.end = end
        self.model.stop_training = True

    def _seconds(self) -> float:
        return time.perf_counter() - self.started


_CLOSED = object()


class _Handoff:
    """Events from the thread running `fit` to the generator yielding them, one at a time.

    `send` waits until the consumer asks for the next event, so the trainer never runs ahead of
    what has been handled. Once the consumer has gone (`close`), sending returns at once.
    """

    def __init__(self) -> None:
        self.items: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.taken = threading.Semaphore(0)
        self.closed = False

    def send(self, event: Event) -> None:
        if self.closed:
            return
        self.items.put(event)
        self.taken.acquire()

    def fail(self, exc: BaseException) -> None:
        self.items.put(exc)

    def close(self) -> None:
        self.closed = True
        self.taken.release()

    def received(self) -> Iterator[Event]:
        while True:
            item = self.items.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if isinstance(item, TrainingEnd):
                return
            self.taken.release()
