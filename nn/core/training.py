"""The training loop: minibatch gradient descent that reports as it goes and can be stopped.

A `NumpyTraining` (this engine's `nn.core.engine.Training`) yields small, plain events, so the
same loop serves the command line (which prints them), the app's workers (which send them to the
pages) and the tests (which assert on them). It never prints and keeps no global state; between
epochs its whole state can be taken and restored (`TrainingState`), so a run can go on after a
stop, a crash or a restart as if nothing had happened.
`train` is the loop as one call, for a network's `fit` and for fine-tuning.

Batch size 1 is the classic stochastic mode: the weights move after every single image.

The loop needs only a network and a `TrainConfig`: how the network is built is its own
business (`MLP.config`). When the run ends the loop writes the model's `record`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np

from . import augment
from .config import TrainConfig
from .data import MNIST, subset, train_validation_split
from .deskew import as_bytes, deskew
from .events import BatchProgress, EpochEnd, Event, TrainingEnd
from .optimizers import OptimizerState, make_optimizer
from .record import ModelRecord
from .schedules import learning_rate

PROGRESS_UPDATES_PER_EPOCH = 50
# An untrained network scores ln 10 ≈ 2.3. Even one confidently wrong image rarely costs 100
# (with batch size 1 a batch is one image); a loss of 10,000 means logits of ten thousand: the
# steps have overshot and the run will not recover.
DIVERGED_LOSS = 1e4
# Steps that overshoot do not always explode: the loss can bounce around chance for ever while
# the ReLUs die. An epoch whose average loss is half as high again as both the run's first batch
# and blind guessing (ln 10; a fine-tuned model starts far below it) is heading the wrong way.
OVERSHOOT = 1.5
EXPLODED = f"the loss exploded (NaN, infinite or over {DIVERGED_LOSS:g})"


LabelledSet = tuple[np.ndarray, np.ndarray]


class Trainable(Protocol):
    """What the loop needs of a network (`nn.core.network.MLP` is one): its parameters and their
    gradients as flat arrays, the loss of a batch with its gradients, and a record to write.

    Named here rather than importing the network, which builds on this loop for its `fit`.
    """

    params: np.ndarray
    grads: np.ndarray
    n_weights: int  # the weights come first in `params`, then the biases
    dtype: np.dtype
    deskews: bool  # it reads every image deskewed (`nn.core.deskew`), in training too
    layer_sizes: tuple[int, ...]
    record: ModelRecord

    def loss_and_gradients(self, x: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]: ...
    def prepared_input_gradient(self, x: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...
    def score(self, images: np.ndarray, labels: np.ndarray) -> float: ...


class EpochImages:
    """The images each epoch trains on, as uint8 rows (N, 784): distorted afresh by `augment`,
    then deskewed if the network deskews, as it will deskew every image it reads later. Without
    distortions the deskewed set is the same every epoch, so it is made once."""

    def __init__(self, images: np.ndarray, augment_kind: str, deskews: bool):
        if deskews and images.dtype != np.uint8:  # deskewing resamples bytes, as MNIST's are
            images = as_bytes(images)
        self.images, self.augment, self.deskews = images, augment_kind, deskews
        self.scale = 1 / 255 if images.dtype == np.uint8 else 1.0  # to the [0, 1] the network reads
        self.fixed = self._prepared(images) if augment_kind == "none" else None

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        if self.fixed is not None:
            return self.fixed
        return self._prepared(augment.distort(self.images, rng, self.augment))

    def _prepared(self, images: np.ndarray) -> np.ndarray:
        images = deskew(images) if self.deskews else images
        return images.reshape(len(images), -1)


@dataclass(frozen=True)
class TrainingData:
    """The images a training learns from, and those it is measured on each epoch (None: not)."""

    train: LabelledSet
    validation: LabelledSet | None = None
    test: LabelledSet | None = None

    @classmethod
    def for_run(cls, config: TrainConfig, mnist: MNIST) -> TrainingData:
        """MNIST as `config` asks: its training subset and validation split, and the test set."""
        images, labels = mnist.train_images, mnist.train_labels
        if config.train_size is not None:
            images, labels = subset(images, labels, config.train_size, config.seed)
        validation = None
        if config.val_size:
            (images, labels), validation = train_validation_split(
                images, labels, config.val_size, config.seed
            )
        return cls((images, labels), validation, (mnist.test_images, mnist.test_labels))


@dataclass(frozen=True)
class TrainingState:
    """Everything a training needs to go on exactly where it was at the end of an epoch.

    Restored into a fresh `NumpyTraining` of the same network and config, in any process, it makes
    the rest of the run the same, bit for bit, as if it had never stopped (at the same number
    of BLAS threads: a matrix product split differently rounds differently).
    """

    config: TrainConfig
    params: np.ndarray  # the network's weights and biases, flat (`MLP.params`)
    optimizer: OptimizerState
    rng: dict[str, Any]  # the generator's `bit_generator.state`: shuffling and distortions
    epochs_done: int  # of `config.epochs`; the schedule's position follows from it
    history: tuple[EpochEnd, ...]  # every epoch the network has trained, earlier trainings' too
    seconds: float  # spent training so far
    started: str  # when the training first started, ISO 8601 in UTC
    starting_loss: float  # the first batch's, which tells an overshooting run (`OVERSHOOT`)


class BaseTraining:
    """What every engine's training does alike (`nn.core.engine.Training`): its bookkeeping.

    It keeps the history, the time spent and the first batch's loss, draws every random number
    (shuffling, distortions) from one NumPy generator, takes and restores a `TrainingState`,
    ends the same ways (`stopped`, `diverged`) and writes the model's `record` at the end. An
    engine says how it trains an epoch (`_epochs`) and where its weights and optimizer live.

    Setting `stop` (from any thread) ends `events()` after the current batch, keeping the
    weights learned so far. A loss that explodes ends it at once and restores the weights of
    the last completed epoch. Either way the last event is a `TrainingEnd`, after which
    `model.record` describes the training: `config`, one `EpochEnd` per completed epoch (after
    those of any earlier training of the same model), when it started (UTC), for how long, where,
    how it ended and (given test images) the test accuracy. A softmax temperature fitted before
    is dropped: it belonged to the old weights.
    """

    def __init__(self, model: Trainable, config: TrainConfig, data: TrainingData, device: str):
        self.model, self.config, self.data, self.device = model, config.validate(), data, device
        self.rng = np.random.default_rng(config.seed)
        self.epochs_done = 0
        self.history: list[EpochEnd] = list(model.record.history)
        self.seconds = 0.0
        self.started = datetime.now(UTC).isoformat(timespec="seconds")
        self.starting_loss = 0.0
        self.result: TrainingEnd | None = None

    # -- what an engine provides -------------------------------------------------------------

    def _epochs(self, stop: threading.Event | None, started: float) -> Iterator[Event]:
        """Train the epochs after `epochs_done`, yielding progress; last a `TrainingEnd`."""
        raise NotImplementedError

    def _optimizer_state(self) -> OptimizerState:
        raise NotImplementedError

    def _restore(self, params: np.ndarray, optimizer: OptimizerState) -> None:
        """Take these weights (flat, as `MLP.params`) and this optimizer state."""
        raise NotImplementedError

    def _params(self) -> np.ndarray:
        """A copy of the weights now, flat as `MLP.params`."""
        return self.model.params.copy()

    # -- the same for every engine -----------------------------------------------------------

    def state(self) -> TrainingState:
        """A copy of where the training is; taken between epochs (as an `EpochEnd` is yielded)."""
        return TrainingState(
            self.config,
            self._params(),
            self._optimizer_state(),
            self.rng.bit_generator.state,
            self.epochs_done,
            tuple(self.history),
            self.seconds,
            self.started,
            self.starting_loss,
        )

    def restore(self, state: TrainingState) -> None:
        """Go on from `state`, taken from a training of the same network by the same config."""
        if state.config != self.config:
            raise ValueError("the saved training state belongs to another training config")
        if state.params.shape != self.model.params.shape:
            raise ValueError(f"the saved weights {state.params.shape} do not fit this network")
        self._restore(state.params, state.optimizer)
        self.rng.bit_generator.state = state.rng
        self.epochs_done, self.history = state.epochs_done, list(state.history)
        self.seconds, self.started, self.starting_loss = state.seconds, state.started, state.starting_loss

    def events(self, stop: threading.Event | None = None) -> Iterator[Event]:
        """Train the epochs still to do, yielding progress as it goes."""
        resumed_at = time.perf_counter() - self.seconds
        for event in self._epochs(stop, resumed_at):
            if isinstance(event, EpochEnd):
                self.epochs_done = event.epoch
                self.history.append(event)
                self.seconds = time.perf_counter() - resumed_at
            elif isinstance(event, TrainingEnd):
                self.result = event
                self._describe(event)
            yield event

    def overshot(self, epoch_loss: float) -> bool:
        """Whether an epoch's mean loss says the steps are heading the wrong way (`OVERSHOOT`)."""
        return epoch_loss > OVERSHOOT * max(self.starting_loss, math.log(self.model.layer_sizes[-1]))

    def overshoot_end(self, epoch: int, epoch_loss: float, seconds: float, lr: float) -> TrainingEnd:
        start = self.starting_loss
        why = f"its average loss {epoch_loss:.2f} is far worse than at the start ({start:.2f})"
        return diverged(epoch, seconds, lr, why)

    def _describe(self, end: TrainingEnd) -> None:
        test = self.data.test
        self.model.record = replace(
            self.model.record,
            training=self.config,
            history=tuple(self.history),
            trained_at=self.started,
            train_seconds=round(end.seconds, 3),
            status=end.status,
            epochs_done=end.epochs_done,
            test_accuracy=self.model.score(*test) if test is not None else None,  # of these weights
            temperature=None,
            device=self.device,
        )


class NumpyTraining(BaseTraining):
    """One network trained by one `TrainConfig` with this package's own backpropagation.

    `events()` trains, `state()` and `restore()` carry it across a stop, a crash or a restart
    (`BaseTraining`); the optimizer updates `model.params` in place, batch after batch.
    """

    def __init__(
        self, model: Trainable, config: TrainConfig, data: TrainingData, device: str = "NumPy on the CPU"
    ):
        super().__init__(model, config, data, device)
        self.optimizer = make_optimizer(
            config.optimizer, model.params, model.grads, model.n_weights, config.weight_decay, config.momentum
        )
        self.epoch_images = EpochImages(data.train[0], config.augment, model.deskews)

    def _optimizer_state(self) -> OptimizerState:
        return self.optimizer.state()

    def _restore(self, params: np.ndarray, optimizer: OptimizerState) -> None:
        self.model.params[...] = params
        self.optimizer.restore(optimizer)

    def _epochs(self, stop: threading.Event | None, started: float) -> Iterator[Event]:
        model, config, rng = self.model, self.config, self.rng
        images, labels = self.data.train
        n, bs = len(labels), config.batch_size
        batches = math.ceil(n / bs)
        report_every = max(1, batches // PROGRESS_UPDATES_PER_EPOCH)
        scale = self.epoch_images.scale
        # Every batch is converted into this one array: with a fresh one per batch, epochs at batch
        # size 2048 took 8–11 % longer (presumably because its pages were mapped afresh every time).
        batch = np.empty((bs, images[0].size), model.dtype)

        for epoch in range(self.epochs_done + 1, config.epochs + 1):
            epoch_start = time.perf_counter()
            snapshot = model.params.copy()
            order = rng.permutation(n)
            # Batches are gathered through `order` straight from the images (distorted or not):
            # cheaper than shuffling a copy of the whole set (47 MB for MNIST) every epoch.
            pixels = self.epoch_images.draw(rng)
            predicted = np.empty(n, np.intp)  # counted once per epoch, not once per batch
            loss_sum = 0.0
            for b in range(batches):
                rows = order[b * bs : (b + 1) * bs]
                x = np.multiply(pixels.take(rows, axis=0), scale, out=batch[: len(rows)], dtype=model.dtype)
                y = labels[rows]
                if config.adversarial:
                    x, y = with_attacked(model, x, y, config.adversarial)
                loss, logits = model.loss_and_gradients(x, y)
                self.starting_loss = self.starting_loss or loss
                if not loss < DIVERGED_LOSS:  # also true for NaN
                    model.params[...] = snapshot
                    yield diverged(epoch, time.perf_counter() - started, config.lr, EXPLODED)
                    return
                lr = learning_rate(config.schedule, config.lr, (epoch - 1 + b / batches) / config.epochs)
                self.optimizer.step(lr)
                loss_sum += loss * len(rows)
                predicted[rows] = logits[: len(rows)].argmax(axis=1)  # of the images themselves
                if (b + 1) % report_every == 0 and b + 1 < batches:
                    yield BatchProgress(epoch, config.epochs, b + 1, batches, loss_sum / min(n, (b + 1) * bs))
                if stop is not None and stop.is_set():
                    yield stopped(epoch, epoch - 1, time.perf_counter() - started)
                    return
            epoch_loss = loss_sum / n
            if self.overshot(epoch_loss):
                model.params[...] = snapshot
                yield self.overshoot_end(epoch, epoch_loss, time.perf_counter() - started, config.lr)
                return
            yield EpochEnd(
                epoch=epoch,
                epochs=config.epochs,
                loss=epoch_loss,
                train_accuracy=np.count_nonzero(predicted == labels) / n,
                val_accuracy=model.score(*self.data.validation) if self.data.validation is not None else None,
                test_accuracy=model.score(*self.data.test) if self.data.test is not None else None,
                seconds=time.perf_counter() - epoch_start,
                lr=lr,
            )
        yield completed(config.epochs, time.perf_counter() - started)


def train(
    model: Trainable,
    images: np.ndarray,
    labels: np.ndarray,
    config: TrainConfig,
    *,
    validation: LabelledSet | None = None,
    test: LabelledSet | None = None,
    stop: threading.Event | None = None,
) -> Iterator[Event]:
    """Train `model` in place on uint8 or [0, 1] images, yielding progress as it goes (`NumpyTraining`)."""
    return NumpyTraining(model, config, TrainingData((images, labels), validation, test)).events(stop)


def with_attacked(
    model: Trainable, x: np.ndarray, y: np.ndarray, epsilon: float
) -> tuple[np.ndarray, np.ndarray]:
    """The batch followed by its FGSM images of `epsilon`, against the weights of the moment.

    Training on both halves minimises ½ L(x) + ½ L(x_adv), Goodfellow et al.'s adversarial
    objective: the network learns to answer the same within ε of every training image, paying
    for it with a second backward pass (to the pixels) and a batch twice the size.
    """
    gradient, _ = model.prepared_input_gradient(x, y)
    attacked = np.clip(x + epsilon * np.sign(gradient), 0.0, 1.0).astype(x.dtype, copy=False)
    return np.concatenate([x, attacked]), np.concatenate([y, y])


def completed(epochs: int, seconds: float) -> TrainingEnd:
    return TrainingEnd("completed", epochs, seconds, f"trained {epochs} epochs")


def diverged(epoch: int, seconds: float, lr: float, why: str) -> TrainingEnd:
    return TrainingEnd(
        "diverged",
        epoch - 1,
        seconds,
        f"training diverged in epoch {epoch}: {why}. "
        f"Try a smaller learning rate than {lr:g}. The model keeps the weights it had before "
        f"epoch {epoch}.",
    )


def stopped(epoch: int, epochs_done: int, seconds: float) -> TrainingEnd:
    return TrainingEnd(
        "stopped",
        epochs_done,
        seconds,
        f"stopped during epoch {epoch}; the model keeps the weights learned so far",
    )
