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
from dataclasses import dataclass, replace

import numpy as np

from nn.core import augment
from nn.core.config import PARAMETERS, TrainConfig
from nn.core.data import MNIST, load_mnist, subset
from nn.core.engine import Engine, Training
from nn.core.errors import ConfigError
from nn.core.events import Event, TrainingEnd
from nn.core.network import MLP
from nn.core.record import FineTuneMix, FineTuneRecord, ModelRecord
from nn.core.training import TrainingData
from nn.engines import engine_named

from .user_digits import Split

# A thirtieth of the default learning rate, for a few epochs: nudge the weights, don't re-learn them.
GENTLE_TRAINING = TrainConfig(epochs=3, lr=0.003, batch_size=64)
DEFAULT_MIX = FineTuneMix(mnist_size=20_000, user_share=0.02, max_repeats=200, distortion="pen")


@dataclass(frozen=True)
class FineTuneSettings:
    """How gently (`training`) and on what (`mix`) the copy keeps training.

    Measured on the shipped 98.2 % model with 70 typed digits as the "user's" (two seeds): at
    lr 0.01 with a 10 % share MNIST accuracy fell by up to 0.29 points; at lr 0.003 with 2 % by
    at most 0.12 with affine distortions and 0.09 with "pen" (affine, stroke thickness, blur —
    what reads other people's handwriting best), while the held-out typed digits went from 85 %
    to 100 % in every case.

    `training` is an ordinary training config, checked by the parameter table like any run's.
    Its `augment` stays "none": the user's copies are distorted once, by `mix.distortion`, and
    the MNIST images are rehearsed as they are.
    """

    training: TrainConfig = GENTLE_TRAINING
    mix: FineTuneMix = DEFAULT_MIX

    def __post_init__(self) -> None:
        self.training.validate()  # refused where it is made, before it waits for a worker
        problem = PARAMETERS["augment"].problem(self.mix.distortion)
        if problem:
            raise ConfigError({"distortion": problem})


class FineTune:
    """A copy of `model` and the mixed data it will be fine-tuned on, by `engine` (None: the one
    the settings name).

    Once trained, `account` is how it went (`FineTuneRecord`), written into the copy's record too.
    """

    def __init__(
        self,
        model: MLP,
        digits: Split,
        settings: FineTuneSettings | None = None,
        mnist: MNIST | None = None,
        engine: Engine | None = None,
    ):
        if len(digits.train_labels) == 0:
            raise ValueError("add some of your own digits first: there is nothing to fine-tune on")
        self.settings = settings = settings or FineTuneSettings()
        mix, seed = settings.mix, settings.training.seed
        mnist = mnist or load_mnist()
        self.test = (mnist.test_images, mnist.test_labels)
        self.held_out = (
            (digits.held_out_images, digits.held_out_labels) if len(digits.held_out_labels) else None
        )
        rng = np.random.default_rng(seed)
        rehearsal = subset(mnist.train_images, mnist.train_labels, mix.mnist_size, seed)
        self.repeats = _repeats(mix, len(digits.train_labels))
        mine = _distorted_copies(digits.train_images, digits.train_labels, self.repeats, mix.distortion, rng)
        self.images = np.concatenate([rehearsal[0], mine[0]])
        self.labels = np.concatenate([rehearsal[1], mine[1]])
        engine = engine or engine_named(settings.training.engine)
        self.before = model
        self.model = _copy(model, engine)
        self.n_user = (len(digits.train_labels), len(digits.held_out_labels))
        data = TrainingData((self.images, self.labels), validation=self.held_out, test=self.test)
        self.training: Training = engine.start(self.model, settings.training, data)
        self.account: FineTuneRecord | None = None

    def events(self, stop: threading.Event | None = None) -> Iterator[Event]:
        """Fine-tune, yielding the engine's events (validation accuracy = the user's held-out)."""
        for event in self.training.events(stop):
            if isinstance(event, TrainingEnd):
                self._describe()
            yield event

    def run(self) -> FineTuneRecord:
        """Fine-tune to the end without watching the progress."""
        for _ in self.events():
            pass
        return self.account

    def _accuracy(self, model: MLP) -> tuple[float, float | None]:
        user = model.score(*self.held_out) if self.held_out else None
        return model.score(*self.test), user

    def _describe(self) -> None:
        """Measure before and after, and write the account into the fine-tuned model's record."""
        mnist_before, user_before = self._accuracy(self.before)
        mnist_after, user_after = self._accuracy(self.model)
        self.account = FineTuneRecord(
            self.settings.mix, *self.n_user, self.repeats, mnist_before, mnist_after, user_before, user_after
        )
        self.model.record = replace(self.model.record, finetune=self.account)


def _repeats(mix: FineTuneMix, n_digits: int) -> int:
    """How many times each user digit appears so that they make up `user_share` of the mix."""
    wanted = mix.user_share / (1 - mix.user_share) * mix.mnist_size
    return int(np.clip(round(wanted / n_digits), 1, mix.max_repeats))


def _distorted_copies(
    images: np.ndarray, labels: np.ndarray, repeats: int, kind: str, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Each digit once as drawn and `repeats - 1` times randomly distorted, as uint8 like MNIST."""
    as_uint8 = np.rint(np.clip(images, 0, 1) * 255).astype(np.uint8)
    copies = np.tile(as_uint8, (repeats - 1, 1, 1))
    distorted = augment.distort(copies, rng, kind) if len(copies) else copies
    return np.concatenate([as_uint8, distorted]), np.tile(labels, repeats)


def _copy(model: MLP, engine: Engine) -> MLP:
    """The same network and weights, and how they were first trained (its own training is recorded anew)."""
    clone = engine.build(model.config)
    clone.params[...] = model.params
    clone.record = ModelRecord(base_training=model.record.first_training)
    return clone
