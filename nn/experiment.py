"""One training run from a configuration: data chosen, model built, trained, described.

The command line and the app both train through `TrainingRun`, so a model trained in either
carries the same metadata (hyper-parameters, history, test accuracy, when it was trained).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from .config import TrainConfig
from .data import MNIST, load_mnist, subset, train_validation_split
from .network import MLP
from .training import Event, RunEnd, train


class TrainingRun:
    """A model and the data it will be trained on, per `config` (validated up front)."""

    def __init__(self, config: TrainConfig, mnist: MNIST | None = None):
        self.config = config.validate()
        mnist = mnist or load_mnist()
        images, labels = mnist.train_images, mnist.train_labels
        if config.train_size is not None:
            images, labels = subset(images, labels, config.train_size, config.seed)
        self.validation = None
        if config.val_size:
            (images, labels), self.validation = train_validation_split(
                images, labels, config.val_size, config.seed
            )
        self.train_set = (images, labels)
        self.test = (mnist.test_images, mnist.test_labels)
        self.model = MLP(config.hidden, init=config.init, seed=config.seed, dtype=config.dtype)
        self.result: RunEnd | None = None

    def events(self, stop: threading.Event | None = None) -> Iterator[Event]:
        """Train, yielding progress; afterwards `model.meta` describes the model fully."""
        for event in train(
            self.model, *self.train_set, self.config, validation=self.validation, test=self.test, stop=stop
        ):
            if isinstance(event, RunEnd):
                self.result = event
            yield event
