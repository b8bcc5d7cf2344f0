"""The same training run written for each contender: `nn/`, PyTorch, Keras, the naive classic.

Every function trains 784-128-64-10 (ReLU, softmax cross-entropy, He-normal weights, zero biases)
on the MNIST training images from the same uint8 files and returns the wall-clock seconds of each
epoch and the test accuracy afterwards. The framework versions are written as their tutorials
write them: data converted to float32 tensors once, then a plain loop over shuffled slices, a
`DataLoader`, or `model.fit`. None of them tracks a metric while training (nn/ does, for its
progress events), so nothing is added to their side of the scale.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from nn.core.config import ModelConfig, TrainConfig
from nn.core.data import MNIST, subset
from nn.core.network import MLP
from nn.core.training import EpochEnd, train

HIDDEN = (128, 64)
LAYER_SIZES = (784, *HIDDEN, 10)
MNIST_TRAIN = 60_000
MOMENTUM = 0.9
PER_SAMPLE_LR = 0.01  # the classic recipe: plain SGD, one image at a time
SEED = 0


@dataclass(frozen=True)
class Job:
    """One benchmark run: who trains, how, and on how many images."""

    contender: str
    batch_size: int
    epochs: int
    lr: float
    train_size: int
    threads: int


@dataclass(frozen=True)
class Outcome:
    epoch_seconds: list[float]
    test_accuracy: float


def training_set(mnist: MNIST, size: int) -> tuple[np.ndarray, np.ndarray]:
    if size >= len(mnist.train_labels):
        return mnist.train_images, mnist.train_labels
    return subset(mnist.train_images, mnist.train_labels, size, SEED)


def as_float_rows(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1).astype(np.float32) / np.float32(255)


def run_nn(job: Job, mnist: MNIST) -> Outcome:
    images, labels = training_set(mnist, job.train_size)
    per_sample = job.batch_size == 1
    config = TrainConfig(
        epochs=job.epochs,
        lr=job.lr,
        batch_size=job.batch_size,
        optimizer="sgd" if per_sample else "momentum",
        momentum=MOMENTUM,
        schedule="constant",
        seed=SEED,
    )
    model = MLP.from_config(ModelConfig(hidden=HIDDEN, init="he", seed=SEED, dtype="float32"))
    seconds, start = [], time.perf_counter()
    for event in train(model, images, labels, config):
        if isinstance(event, EpochEnd):
            seconds.append(time.perf_counter() - start)
            start = time.perf_counter()
    return Outcome(seconds, model.score(mnist.test_images, mnist.test_labels))


def run_naive(job: Job, mnist: MNIST) -> Outcome:
    from .naive import NaiveNetwork

    images, labels = training_set(mnist, job.train_size)
    network = NaiveNetwork((784, *HIDDEN, 10), seed=SEED)
    order = np.random.default_rng(SEED)
    seconds = []
    for _ in range(job.epochs):
        start = time.perf_counter()
        shuffled = order.permutation(len(labels))
        network.sgd_epoch(images[shuffled], labels[shuffled], job.lr)
        seconds.append(time.perf_counter() - start)
    return Outcome(seconds, network.accuracy(mnist.test_images, mnist.test_labels))


def _torch_model(torch: Any) -> Any:
    torch.manual_seed(SEED)
    sizes = (784, *HIDDEN, 10)
    layers = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        linear = torch.nn.Linear(fan_in, fan_out)
        torch.nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")  # N(0, 2/fan_in)
        torch.nn.init.zeros_(linear.bias)
        layers += [linear, torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def _torch_setup(job: Job, mnist: MNIST) -> tuple[Any, Any, Any, Any, Any]:
    import torch

    torch.set_num_threads(job.threads)
    images, labels = training_set(mnist, job.train_size)
    x = torch.from_numpy(as_float_rows(images))
    y = torch.from_numpy(labels.astype(np.int64))
    model = _torch_model(torch)
    optimizer = torch.optim.SGD(model.parameters(), lr=job.lr, momentum=MOMENTUM)
    return torch, x, y, model, optimizer


def _torch_accuracy(torch: Any, model: Any, mnist: MNIST) -> float:
    with torch.no_grad():
        logits = model(torch.from_numpy(as_float_rows(mnist.test_images)))
    return float((logits.argmax(dim=1).numpy() == mnist.test_labels).mean())


def _torch_step(torch: Any, model: Any, optimizer: Any, xb: Any, yb: Any) -> None:
    optimizer.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(xb), yb)
    loss.backward()
    optimizer.step()


def run_torch_loop(job: Job, mnist: MNIST) -> Outcome:
    torch, x, y, model, optimizer = _torch_setup(job, mnist)
    seconds = []
    for _ in range(job.epochs):
        start = time.perf_counter()
        order = torch.randperm(len(y))
        xs, ys = x[order], y[order]
        for i in range(0, len(y), job.batch_size):
            _torch_step(torch, model, optimizer, xs[i : i + job.batch_size], ys[i : i + job.batch_size])
        seconds.append(time.perf_counter() - start)
    return Outcome(seconds, _torch_accuracy(torch, model, mnist))


def run_torch_loader(job: Job, mnist: MNIST) -> Outcome:
    torch, x, y, model, optimizer = _torch_setup(job, mnist)
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(x, y), batch_size=job.batch_size, shuffle=True)
    seconds = []
    for _ in range(job.epochs):
        start = time.perf_counter()
        for xb, yb in loader:
            _torch_step(torch, model, optimizer, xb, yb)
        seconds.append(time.perf_counter() - start)
    return Outcome(seconds, _torch_accuracy(torch, model, mnist))


def run_keras(job: Job, mnist: MNIST) -> Outcome:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(job.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(SEED)
    images, labels = training_set(mnist, job.train_size)
    sizes = (784, *HIDDEN, 10)
    model = keras.Sequential([keras.Input((784,))])
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        he_normal = keras.initializers.RandomNormal(stddev=math.sqrt(2 / fan_in), seed=SEED + i)
        activation = "relu" if fan_out != sizes[-1] else None
        model.add(keras.layers.Dense(fan_out, activation=activation, kernel_initializer=he_normal))
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=job.lr, momentum=MOMENTUM),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    timer = _keras_epoch_timer(keras)
    model.fit(
        as_float_rows(images),
        labels,
        batch_size=job.batch_size,
        epochs=job.epochs,
        verbose=0,
        callbacks=[timer],
    )
    logits = model.predict(as_float_rows(mnist.test_images), batch_size=4096, verbose=0)
    return Outcome(timer.seconds, float((logits.argmax(axis=1) == mnist.test_labels).mean()))


def _keras_epoch_timer(keras: Any) -> Any:
    class EpochTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.seconds.append(time.perf_counter() - self.start)

    return EpochTimer()


CONTENDERS = {
    "nn": (run_nn, "numpy"),
    "torch-loop": (run_torch_loop, "torch"),
    "torch-loader": (run_torch_loader, "torch"),
    "keras": (run_keras, "tensorflow"),
    "naive": (run_naive, "numpy"),
}
LABELS = {
    "nn": "nn/",
    "torch-loop": "PyTorch, plain loop",
    "torch-loader": "PyTorch, DataLoader",
    "keras": "Keras, model.fit",
    "naive": "naive NumPy, float64",
}
