"""Teaching a trained network the user's handwriting without making it forget MNIST.

A few dozen of the user's digits are far too few to train on alone: a network fed only those
would learn them and unlearn everything else ("catastrophic forgetting"). So a copy of the
model keeps training, gently (a thirtieth of the usual learning rate, a few epochs), on a mix:
a random slice of MNIST to rehearse what it knows, plus the user's digits repeated until they
make up 2 % of the mix — each repetition randomly distorted, so the network learns
the user's style rather than their exact pixels. The original model is never touched.

Whether it worked is measured on both fronts before and after: accuracy on MNIST's test set
(which should not fall) and on the user's held-out digits (which the network never trains on).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from nn.core import augment
from nn.core.config import TrainConfig
from nn.core.data import MNIST, load_mnist, subset
from nn.core.network import MLP
from nn.core.record import ModelRecord
from nn.core.training import Event, TrainingEnd, train

from .user_digits import Split

MAX_MNIST_DROP = 0.003  # fine-tuning may cost at most 0.3 points of MNIST test accuracy


@dataclass(frozen=True)
class FineTuneSettings:
    """How gently and on how much data the copy keeps training.

    Measured on the shipped 98.2 % model with 70 typed digits as the "user's" (two seeds): at
    lr 0.01 with a 10 % share MNIST accuracy fell by up to 0.29 points; at lr 0.003 with 2 % by
    at most 0.12 with affine distortions and 0.09 with "pen" (affine, stroke thickness, blur —
    what reads other people's handwriting best), while the held-out typed digits went from 85 %
    to 100 % in every case.
    """

    epochs: int = 3
    lr: float = 0.003  # a thirtieth of the default: nudge the weights, don't re-learn them
    batch_size: int = 64
    mnist_size: int = 20_000  # MNIST images rehearsed alongside the user's
    user_share: float = 0.02  # the user's (repeated, distorted) digits' share of the mix
    max_repeats: int = 200  # so that three digits are not each copied a thousand times
    augment: str = "pen"
    seed: int = 0


@dataclass(frozen=True)
class FineTuneResult:
    """Accuracy before and after; user accuracies are None without held-out digits."""

    status: str
    mnist_before: float
    mnist_after: float
    user_before: float | None
    user_after: float | None
    user_train: int
    user_held_out: int
    repeats: int

    @property
    def mnist_change_points(self) -> float:
        return 100 * (self.mnist_after - self.mnist_before)

    @property
    def user_change_points(self) -> float | None:
        if self.user_after is None or self.user_before is None:
            return None
        return 100 * (self.user_after - self.user_before)

    @property
    def kept_mnist(self) -> bool:
        """Whether MNIST accuracy stayed within the allowed drop."""
        return self.mnist_after >= self.mnist_before - MAX_MNIST_DROP


class FineTune:
    """A copy of `model` and the mixed data it will be fine-tuned on."""

    def __init__(
        self, model: MLP, digits: Split, settings: FineTuneSettings | None = None, mnist: MNIST | None = None
    ):
        if len(digits.train_labels) == 0:
            raise ValueError("add some of your own digits first: there is nothing to fine-tune on")
        self.settings = settings = settings or FineTuneSettings()
        mnist = mnist or load_mnist()
        self.test = (mnist.test_images, mnist.test_labels)
        self.held_out = (
            (digits.held_out_images, digits.held_out_labels) if len(digits.held_out_labels) else None
        )
        self.config = TrainConfig(
            epochs=settings.epochs,
            lr=settings.lr,
            batch_size=settings.batch_size,
            schedule="cosine",
            seed=settings.seed,
        ).validate()
        rng = np.random.default_rng(settings.seed)
        rehearsal = subset(mnist.train_images, mnist.train_labels, settings.mnist_size, settings.seed)
        self.repeats = _repeats(settings, len(digits.train_labels))
        mine = _distorted_copies(
            digits.train_images, digits.train_labels, self.repeats, settings.augment, rng
        )
        self.images = np.concatenate([rehearsal[0], mine[0]])
        self.labels = np.concatenate([rehearsal[1], mine[1]])
        self.before = model
        self.model = _copy(model)
        self.n_user = (len(digits.train_labels), len(digits.held_out_labels))
        self.result: FineTuneResult | None = None

    def events(self, stop: threading.Event | None = None) -> Iterator[Event]:
        """Fine-tune, yielding `nn.core.training` events (validation accuracy = the user's held-out)."""
        for event in train(
            self.model,
            self.images,
            self.labels,
            self.config,
            validation=self.held_out,
            test=self.test,
            stop=stop,
        ):
            if isinstance(event, TrainingEnd):
                self._describe(event)
            yield event

    def run(self) -> FineTuneResult:
        """Fine-tune to the end without watching the progress."""
        for _ in self.events():
            pass
        return self.result

    def _accuracy(self, model: MLP) -> tuple[float, float | None]:
        user = model.score(*self.held_out) if self.held_out else None
        return model.score(*self.test), user

    def _describe(self, end: TrainingEnd) -> None:
        mnist_before, user_before = self._accuracy(self.before)
        mnist_after, user_after = self._accuracy(self.model)
        self.result = FineTuneResult(
            end.status, mnist_before, mnist_after, user_before, user_after, *self.n_user, self.repeats
        )
        self.model.record = replace(self.model.record, finetune=self.details())

    def details(self) -> dict[str, Any]:
        """What a run store keeps about this fine-tuning: settings and before/after."""
        return {"settings": asdict(self.settings), "result": asdict(self.result) if self.result else None}


def _repeats(settings: FineTuneSettings, n_digits: int) -> int:
    """How many times each user digit appears so that they make up `user_share` of the mix."""
    wanted = settings.user_share / (1 - settings.user_share) * settings.mnist_size
    return int(np.clip(round(wanted / n_digits), 1, settings.max_repeats))


def _distorted_copies(
    images: np.ndarray, labels: np.ndarray, repeats: int, kind: str, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Each digit once as drawn and `repeats - 1` times randomly distorted, as uint8 like MNIST."""
    as_uint8 = np.rint(np.clip(images, 0, 1) * 255).astype(np.uint8)
    copies = np.tile(as_uint8, (repeats - 1, 1, 1))
    distorted = augment.distort(copies, rng, kind) if len(copies) else copies
    return np.concatenate([as_uint8, distorted]), np.tile(labels, repeats)


def _copy(model: MLP) -> MLP:
    """The same network and weights, and how they were first trained (its own training is recorded anew)."""
    clone = MLP.from_config(model.config)
    clone.params[...] = model.params
    clone.record = ModelRecord(base_training=model.record.first_training)
    return clone
