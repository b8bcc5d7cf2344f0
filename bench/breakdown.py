"""Where an epoch of nn/ goes: the training step taken apart, each part on its own stopwatch.

    python -m bench.breakdown                      # batch 2048: where nn/ is nearest the floor
    python -m bench.breakdown --batch-size 128 --epochs 5
    python -m bench.breakdown --quick              # seconds: checks it runs; its figures mean nothing

It takes the steps `nn.core.training` takes — gather a batch and convert it to float32, every layer's
forward pass, the softmax cross-entropy, every layer's backward pass, the optimizer's update —
with a clock around each, on the default 784-128-64-10 network (Dense 1 is 784 → 128, Dense 3
is 64 → 10). A Dense layer's time is mostly its matrix products; `bench.floor` times those
alone on random matrices of the same shapes, and the GEMM floor is measured in the same process
after the epochs, so the three can be read side by side.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from nn.core.data import load_mnist
from nn.core.layers import Dense
from nn.core.losses import cross_entropy
from nn.core.network import MLP
from nn.core.optimizers import make_optimizer

from .floor import epoch_flops, gemm_rate, products_seconds
from .frameworks import HIDDEN, LAYER_SIZES, MOMENTUM, SEED
from .quick import add_quick

LR = 0.05
QUICK = {"epochs": 1}


class Stopwatch:
    """Seconds spent in each named part, summed over every time it ran."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, part: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.seconds[part] += time.perf_counter() - start


def timed_epoch(
    model: MLP, step: Callable[[float], None], images: np.ndarray, labels: np.ndarray, batch_size: int
) -> Stopwatch:
    """One epoch of training as nn.core.training runs it, every part of every step timed; `step` updates."""
    clock = Stopwatch()
    names = [f"{type(layer).__name__} {i // 2 + 1}" for i, layer in enumerate(model.layers)]
    order = np.random.default_rng(SEED).permutation(len(labels))
    batch = np.empty((batch_size, images[0].size), model.dtype)
    pixels = images.reshape(len(images), -1)
    for start in range(0, len(labels), batch_size):
        rows = order[start : start + batch_size]
        with clock("batch: gather, uint8 → float32"):
            x = np.multiply(pixels.take(rows, axis=0), 1 / 255, out=batch[: len(rows)], dtype=model.dtype)
        for name, layer in zip(names, model.layers):
            with clock(f"{name} forward"):
                x = layer.forward(x)
        with clock("softmax cross-entropy"):
            _, grad = cross_entropy(x, labels[rows])
        for name, layer in reversed(list(zip(names, model.layers))):
            with clock(f"{name} backward"):
                first = layer is model.layers[0]
                grad = layer.backward(grad, need_input_grad=False) if first else layer.backward(grad)
        with clock("optimizer update"):
            step(LR)
    return clock


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.breakdown", description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs, after one untimed warm-up")
    add_quick(parser, QUICK, argv)
    args = parser.parse_args(argv)
    mnist = load_mnist()
    model = MLP(HIDDEN, seed=SEED)
    optimizer = make_optimizer("momentum", model.params, model.grads, model.n_weights, momentum=MOMENTUM)
    epochs = [
        timed_epoch(model, optimizer.step, mnist.train_images, mnist.train_labels, args.batch_size)
        for _ in range(args.epochs + 1)
    ][1:]
    parts = {part: statistics.median(e.seconds[part] for e in epochs) for part in epochs[0].seconds}
    epoch = statistics.median(sum(e.seconds.values()) for e in epochs)
    floor = epoch_flops(LAYER_SIZES, len(mnist.train_labels)) / gemm_rate()
    products = products_seconds(LAYER_SIZES, args.batch_size, len(mnist.train_labels))

    print(f"one epoch of 784-128-64-10 at batch {args.batch_size}, median of {args.epochs} epochs")
    print(f"{'part':<34}{'ms/epoch':>10}{'share':>8}")
    for part, seconds in sorted(parts.items(), key=lambda item: -item[1]):
        print(f"{part:<34}{seconds * 1000:>10.1f}{seconds / epoch:>8.0%}")
    print(f"{'the whole epoch':<34}{epoch * 1000:>10.1f}")
    dense = sum(s for part, s in parts.items() if part.startswith(Dense.__name__))
    print(f"the Dense layers' products alone: {products * 1000:.1f} ms (the layers took {dense * 1000:.1f})")
    print(f"GEMM floor: {floor * 1000:.1f} ms; the epoch is {epoch / floor:.2f} × the floor")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
