"""One training run from a configuration: data chosen, model built, trained, described.

The command line and the app both train through `TrainingRun`, so a model trained in either
carries the same record (training config, history, test accuracy, when it was trained). The
run's `RunConfig` says which network to build (`config.model`, a `ModelConfig`) and how to
train it (`config.training`, a `TrainConfig`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from .config import RunConfig
from .data import MNIST, load_mnist, subset, train_validation_split
from .network import MLP
from .training import Event, RunEnd, train


class TrainingRun:
    """A model and the data it will be trained on, per `config` (validated up front)."""

    def __init__(self, config: RunConfig, mnist: MNIST | None = None):
        self.config = config.validate()
        training = config.training
        mnist = mnist or load_mnist()
        images, labels = mnist.train_images, mnist.train_labels
        if training.train_size is not None:
            images, labels = subset(images, labels, training.train_size, training.seed)
        self.validation = None
        if training.val_size:
            (images, labels), self.validation = train_validation_split(
                images, labels, training.val_size, training.seed
            )
        self.train_set = (images, labels)
        self.test = (mnist.test_images, mnist.test_labels)
        self.model = MLP.from_config(config.model)
        self.result: RunEnd | None = None

    def events(self, stop: threading.Event | None = None) -> Iterator[Event]:
        """Train, yielding progress; afterwards `model.record` describes the training fully."""
        for event in train(
            self.model,
            *self.train_set,
            self.config.training,
            validation=self.validation,
            test=self.test,
            stop=stop,
        ):
            if isinstance(event, RunEnd):
                self.result = event
            yield event
