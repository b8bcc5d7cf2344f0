"""What the live hidden-layer map costs a training run: per call, and as a share of the run.

    python -m bench.live_map                    # default run, 5 epochs, 3 rounds
    python -m bench.live_map --epochs 10 --rounds 5
    python -m bench.live_map --quick            # seconds: checks it runs; its figures mean nothing

The Train page shows the last hidden layer's map as the run trains: after every epoch the
training worker computes its points (`nn.explain.projection.last_hidden_map` without the score: a
forward pass of the 2,000 sampled test images and a PCA, `services.worker`), and the server
draws them as a picture (`ui.layer_maps.map_picture`, encoded by `ui.pixels.png`) at most every
3 s, in its own process. The issue allows the map to slow a run by at most 5 %. Measured two ways:

1. per call, the median of 20 calls, on the default network (784-128-64-10) after training and
   on the shipped one (784-1600-800-10): the points without and with the separation score, and
   the server's picture of them;
2. the default run (`RunConfig()`, full MNIST, test accuracy each epoch) timed from the
   first batch to the last epoch, plain and with the map's points computed in the same process
   after every epoch, as a training worker would compute them for the page to draw. Plain and mapped
   runs alternate within each round so that a busy moment on the machine slows both; the
   medians over the rounds are compared. CPU time (`time.process_time`) is reported beside
   wall time: on a shared machine the wall clock mostly measures the neighbours, while the
   CPU seconds of an epoch and of a map are the work itself (run with OPENBLAS_NUM_THREADS=1
   for CPU time to be comparable with wall time on an idle machine).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from nn import load_mnist, load_model
from nn.core.config import RunConfig, TrainConfig
from nn.core.network import MLP
from nn.core.training import EpochEnd
from nn.engines import start_training
from nn.explain.projection import last_hidden_map, map_sample
from ui.layer_maps import map_picture, sample
from ui.pixels import png

from .quick import add_quick

SHIPPED = "models/default.npz"
CALLS = 20
QUICK = {"epochs": 1, "rounds": 1, "train_size": 2_000, "calls": 3}


def median_seconds(call: Callable[[], object], repeats: int) -> float:
    call()  # warm-up: first-touch allocations, BLAS thread start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass
class Timing:
    total: float = 0.0  # from the first batch to the end of the last epoch (and its map)
    epochs: list[float] = field(default_factory=list)  # each epoch's own seconds, map excluded
    maps: list[float] = field(default_factory=list)  # each map's seconds
    epoch_cpu: list[float] = field(default_factory=list)  # CPU seconds of each epoch, map excluded
    map_cpu: list[float] = field(default_factory=list)  # CPU seconds of each map


def timed_run(config: RunConfig, mnist, with_map: bool) -> tuple[Timing, MLP]:
    """One run; with the map, the points of the live map are computed after every epoch.

    Only the points: they are what a training process would compute and hand over, and the
    page builds the figure (timed separately) in its own process.
    """
    chosen = map_sample(mnist.test_labels)
    images, labels = mnist.test_images[chosen], mnist.test_labels[chosen]
    run = start_training(config, mnist)
    timing = Timing()
    start, cpu = time.perf_counter(), time.process_time()
    for event in run.events():
        if isinstance(event, EpochEnd):
            timing.epochs.append(event.seconds)
            timing.epoch_cpu.append(time.process_time() - cpu)
            if with_map:
                drawn, cpu = time.perf_counter(), time.process_time()
                last_hidden_map(run.model, images, labels, score=False)
                timing.maps.append(time.perf_counter() - drawn)
                timing.map_cpu.append(time.process_time() - cpu)
            cpu = time.process_time()
    timing.total = time.perf_counter() - start
    return timing, run.model


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.live_map", description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--train-size", type=int, default=None, help="training images (default: all)")
    parser.add_argument("--calls", type=int, default=CALLS, help="calls per per-call timing")
    add_quick(parser, QUICK, argv)
    args = parser.parse_args(argv)
    mnist = load_mnist()
    config = RunConfig(training=TrainConfig(epochs=args.epochs, train_size=args.train_size))

    runs: dict[bool, list[Timing]] = {False: [], True: []}
    trained = None
    for round_ in range(args.rounds):
        for with_map in (round_ % 2 == 0, round_ % 2 != 0):  # alternate which goes first
            timing, trained = timed_run(config, mnist, with_map)
            runs[with_map].append(timing)
            kind = "with the map" if with_map else "plain       "
            print(
                f"round {round_ + 1}, {kind}: run {timing.total:.2f} s, "
                f"median epoch {statistics.median(timing.epochs):.3f} s"
                + (f", median map {1000 * statistics.median(timing.maps):.1f} ms" if with_map else "")
            )

    chosen = sample(mnist)
    print(f"load average at start of the per-call timings: {os.getloadavg()[0]:.2f}")
    for name, model in (
        ("default 784-128-64-10 (trained)", trained),
        ("shipped 784-1600-800-10", load_model(SHIPPED)),
    ):
        layer_map = last_hidden_map(model, chosen.images, chosen.labels, score=False)
        bare = median_seconds(
            lambda m=model: last_hidden_map(m, chosen.images, chosen.labels, score=False), args.calls
        )
        scored = median_seconds(
            lambda m=model: last_hidden_map(m, chosen.images, chosen.labels, score=True), args.calls
        )
        picture = median_seconds(lambda m=layer_map: png(map_picture(m, chosen)), args.calls)
        print(
            f"{name}: map {1000 * bare:.1f} ms, with separation score {1000 * scored:.1f} ms, "
            f"drawn as the page's picture {1000 * picture:.1f} ms per call"
        )
    plain = statistics.median(t.total for t in runs[False])
    mapped = statistics.median(t.total for t in runs[True])
    epoch = statistics.median(e for t in runs[False] for e in t.epochs)
    drawing = statistics.median(m for t in runs[True] for m in t.maps)
    print(
        f"default run, {args.epochs} epochs × {args.rounds} rounds: median epoch {epoch:.3f} s, "
        f"median map {1000 * drawing:.1f} ms ({100 * drawing / epoch:.1f} % of an epoch); "
        f"whole run {plain:.2f} s plain vs {mapped:.2f} s with the map after every epoch "
        f"({100 * (mapped / plain - 1):+.1f} %)"
    )
    epoch_cpu = statistics.median(e for timings in runs.values() for t in timings for e in t.epoch_cpu)
    map_cpu = statistics.median(m for t in runs[True] for m in t.map_cpu)
    print(
        f"CPU time (what a busy machine's wall clock hides): epoch {epoch_cpu:.3f} s, map "
        f"{1000 * map_cpu:.1f} ms = {100 * map_cpu / epoch_cpu:.1f} % of an epoch"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
