"""Digit Lab's framework engine on a GPU against its NumPy engine on the CPU: seconds per epoch.

Run it on the machine with the GPU, from a checkout of this repository (not installed: the
repository's root is the working directory), with KERAS_BACKEND choosing Keras' backend:

    pip install numpy keras "tensorflow[and-cuda]"   # or: numpy keras torch; or: numpy keras "jax[cuda12]"
    python -m bench.gpu                              # 1 to 2 minutes; KERAS_BACKEND=torch or jax for those
    python -m bench.gpu --quick                      # seconds: 2,000 images; its figures mean nothing

It needs Python 3.11 or later, this repository's `nn` package and MNIST files (`data/mnist/`),
NumPy 2, and Keras 3 with one backend (TensorFlow, PyTorch or JAX); nothing else of the project's
(no Streamlit, pandas, Dask or threadpoolctl). Pillow, which `nn.core` lists, is not needed: only
`nn.core.preprocess` imports it, for outside images, and nothing here imports that. What is
missing is said, with the command that installs it. With no GPU visible it says so and runs
anyway, the framework on the CPU (two CPU engines then, not GPU against CPU: `bench.engines`
compares those at equal threads).

Two networks, the default 784-128-64-10 and a large 784-2500-2000-1500-1000-500-10 (12 million
weights), each trained by `TrainConfig()`'s defaults (batch 128, momentum 0.9, lr 0.07 with
cosine decay) on all 60,000 images by the NumPy engine (NumPy's BLAS on as many threads as it
takes by itself, normally every core) and by the framework engine (`nn.framework`, on the GPU
if the backend sees one), NumPy's rows first, all in this process (`bench.engine_timing`):

- in full: 3 epochs, s/epoch the median of epochs 2 and 3 (the first holds graph tracing or
  compiling and the GPU's start), each epoch with its scoring of the 10,000 test images;
- the large network on a CPU (NumPy's row, and the framework's with no GPU) would take minutes
  an epoch: `--cpu-batches` batches are timed after the first progress report (the first 9
  batches, a warm-up) and their rate extrapolated to an epoch, marked * in the table; those
  rows leave out the epoch's test scoring, a small advantage.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata

from .quick import add_quick

DEFAULT, LARGE = (128, 64), (2500, 2000, 1500, 1000, 500)
BACKENDS = '"tensorflow[and-cuda]", torch or "jax[cuda12]"'
INSTALL = f"pip install keras plus one backend: {BACKENDS}"
QUICK = {"epochs": 2, "train_size": 2000, "cpu_batches": 9}


@dataclass(frozen=True)
class Row:
    network: str
    engine: str
    device: str
    seconds: float | None  # an epoch's, None when it did not finish (`status` says why)
    extrapolated: bool
    test_accuracy: float | None
    status: str


def missing() -> str | None:
    """What keeps this script from running here, in words with the cure; None: nothing."""
    if importlib.util.find_spec("numpy") is None:
        return "NumPy is not installed: pip install numpy"
    if importlib.util.find_spec("keras") is None:
        return f"Keras is not installed: {INSTALL}"
    version = metadata.version("keras")
    if int(version.split(".")[0]) < 3:
        return f"Keras {version} is installed; Digit Lab's engine needs Keras 3: pip install -U keras"
    return None


def framework_device() -> str:
    """Where the framework engine computes (loads Keras and its backend); raises ConfigError."""
    from nn.engines import engine_named

    return engine_named("tensorflow").device()


def on_gpu(device: str) -> bool:
    return " on GPU " in device  # as `nn.framework.backends.device` says it


def measure(hidden: tuple[int, ...], engine: str, args: argparse.Namespace, gpu: bool) -> Row:
    from nn.core.config import ModelConfig, RunConfig, TrainConfig
    from nn.core.data import load_mnist

    from .engine_timing import time_training

    model = ModelConfig(hidden=hidden)
    config = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, train_size=args.train_size or None, engine=engine
    )
    on_cpu = engine == "numpy" or not gpu
    extrapolate = hidden == LARGE and on_cpu
    timing = time_training(
        RunConfig(model, config), load_mnist(), batches=args.cpu_batches if extrapolate else None
    )
    if extrapolate:
        seconds = timing.extrapolated_epoch() if len(timing.batch_marks) > 1 else None
    else:
        seconds = timing.steady_epoch() if timing.status == "completed" else None
    accuracy = None if extrapolate else timing.test_accuracy
    return Row(model.architecture, engine, timing.device, seconds, extrapolate, accuracy, timing.status)


def run_all(args: argparse.Namespace, gpu: bool) -> list[Row]:
    rows = []
    for engine in ("numpy", "tensorflow"):
        for hidden in (DEFAULT, LARGE):
            print(f"{engine}: {'-'.join(map(str, hidden))} …", file=sys.stderr, flush=True)
            rows.append(measure(hidden, engine, args, gpu))
    return rows


def table(rows: list[Row]) -> str:
    numpy_seconds = {r.network: r.seconds for r in rows if r.engine == "numpy"}
    lines = [
        "| network | engine, device | s/epoch | NumPy ÷ this | test acc |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    networks = list(numpy_seconds)
    for row in sorted(rows, key=lambda r: networks.index(r.network)):  # stable: NumPy's row first
        engine = "NumPy: " + _cpu_threads() if row.engine == "numpy" else row.device
        base = numpy_seconds.get(row.network)
        if row.seconds is None:
            lines.append(f"| {row.network} | {engine} | no time: {row.status} | | |")
            continue
        ratio = f"{base / row.seconds:.2f}" if base else ""
        accuracy = f"{row.test_accuracy:.4f}" if row.test_accuracy is not None else "—"
        star = "*" if row.extrapolated else ""
        lines.append(f"| {row.network} | {engine} | {row.seconds:.3f}{star} | {ratio} | {accuracy} |")
    return "\n".join(lines)


def _cpu_threads() -> str:
    names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    limits = [f"{name}={os.environ[name]}" for name in names if name in os.environ]
    return f"the CPU's {os.cpu_count()} cores" + (f" ({', '.join(limits)})" if limits else "")


def header_lines(args: argparse.Namespace, device: str) -> list[str]:
    import keras
    import numpy as np

    from .engine_timing import cpu_name

    images = args.train_size or 60_000
    lines = [
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average (1, 5, 15 min) at the end "
        + " ".join(f"{x:.2f}" for x in os.getloadavg()),
        f"machine: {cpu_name()}, {os.cpu_count()} cores",
        f"software: Python {platform.python_version()}, NumPy {np.__version__}, Keras {keras.__version__} "
        f"on {keras.backend.backend()}",
        f"framework engine: {device}",
        f"settings: TrainConfig() defaults, batch {args.batch_size}; {args.epochs} epochs of {images} "
        f"images, s/epoch the median of epochs 2–{args.epochs}; *: {args.cpu_batches} batches timed, "
        "extrapolated to an epoch",
    ]
    if not on_gpu(device):
        lines.insert(3, "NO GPU VISIBLE: the framework engine ran on the CPU; this is not a GPU measurement")
    return lines


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--epochs", type=int, default=3, help="full epochs per row (at least 2: the 1st is apart)"
    )
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--train-size", type=int, default=0, help="training images (0: all 60,000)")
    parser.add_argument("--cpu-batches", type=int, default=45, help="batches timed for an extrapolated row")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    add_quick(parser, QUICK, argv)
    args = parser.parse_args(argv)
    if args.epochs < 2 or args.cpu_batches < 1:
        parser.error("--epochs must be at least 2 (the first is not the steady state), --cpu-batches 1")
    problem = missing()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    from nn.core.errors import ConfigError

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # TensorFlow's warnings and errors, not its notes
    try:
        device = framework_device()
    except ConfigError as exc:
        backend = os.environ.get("KERAS_BACKEND", "tensorflow, unless ~/.keras/keras.json says otherwise")
        print(
            f"{exc}\nKeras' backend is KERAS_BACKEND's ({backend}): pip install it ({BACKENDS}), or name "
            "an installed one in KERAS_BACKEND",
            file=sys.stderr,
        )
        return 1
    if not on_gpu(device):
        print(f"no GPU visible ({device}): the framework engine runs on the CPU", file=sys.stderr)
    rows = run_all(args, on_gpu(device))
    print("\n".join([*header_lines(args, device), "", table(rows)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
