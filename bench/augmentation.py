"""How long one epoch's worth of augmentation takes: every kind, on all 60,000 training images.

    python -m bench.augmentation             # 5 rounds, the kinds alternating
    python -m bench.augmentation --rounds 3 --kinds affine
    python -m bench.augmentation --quick     # seconds: checks it runs; its figures mean nothing

Augmentation runs once per epoch before any training step, so its time adds to every epoch.
The kinds alternate within each round so that a busy moment on a shared machine slows all of
them; the table shows the median and the fastest round. As a yardstick of how busy the machine
is, each round also times one pass of a float32 addition over as many pixels (a memory-bound
operation the sampling has to make about twenty of).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from nn.core.augment import distort
from nn.core.config import AUGMENTATIONS
from nn.core.data import load_mnist

from .quick import add_quick

QUICK = {"rounds": 1, "images": 2_000}


def main(argv: list[str] | None = None) -> int:
    kinds = [kind for kind in AUGMENTATIONS if kind != "none"]
    parser = argparse.ArgumentParser(prog="python -m bench.augmentation", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--kinds", nargs="+", choices=kinds, default=kinds)
    parser.add_argument("--images", type=int, default=None, help="the first N training images (default: all)")
    add_quick(parser, QUICK, argv)
    args = parser.parse_args(argv)
    images = np.ascontiguousarray(load_mnist().train_images[: args.images])
    pixels, total = np.ones(images.size, np.float32), np.empty(images.size, np.float32)
    times: dict[str, list[float]] = {name: [] for name in [*args.kinds, "yardstick: one float32 add"]}
    for round_ in range(args.rounds):
        for kind in args.kinds:
            started = time.perf_counter()
            distort(images, np.random.default_rng(round_), kind)
            times[kind].append(time.perf_counter() - started)
        started = time.perf_counter()
        np.add(pixels, pixels, out=total)
        times["yardstick: one float32 add"].append(time.perf_counter() - started)
    load = os.getloadavg()[0]
    print(f"augmentation of {len(images):,} images, {args.rounds} rounds, load average {load:.1f}")
    print(f"{'kind':<28}{'median s':>10}{'fastest s':>11}")
    for name, seconds in times.items():
        print(f"{name:<28}{statistics.median(seconds):>10.3f}{min(seconds):>11.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
