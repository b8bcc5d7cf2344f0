"""Digit Lab's TensorFlow engine against its NumPy engine on this CPU: seconds per epoch.

    python -m bench.engines                  # 3 rounds at batch 64, 128 and 512 (2 to 3 minutes)
    python -m bench.engines --quick          # seconds: 2 epochs of 2,000 images; its figures mean nothing
    python -m bench.engines --threads 1      # the control: one thread each, which a busy machine slows less

Both engines train as the app and the command line train (`nn.engines.start_training`): the
default network, 784-128-64-10, by `TrainConfig()`'s defaults (momentum 0.9, lr 0.07 with cosine
decay, no augmentation, all 60,000 training images, the test set scored after every epoch) but
for the batch size and the number of epochs, with `engine` "numpy" or "tensorflow" (Keras 3 on
TensorFlow: `nn.framework`, XLA off). Both start from the same weights and see the same batches.

Every training runs in a fresh process on the same number of CPU threads (`--threads`, 2: this
machine's cores): NumPy's BLAS through OPENBLAS_NUM_THREADS (and OMP_, MKL_), TensorFlow's
intra-op pool through the engine's `threads` (inter-op 1). Each trains 3 epochs, an epoch being
the wall time between the engine's `EpochEnd` events (`bench.engine_timing`), so it includes
scoring the test set. The first epoch holds TensorFlow's tracing of its training step (and both
engines' first touches of their memory): it is shown on its own, and s/epoch is the median of
epochs 2 and 3 over all rounds. The rounds alternate: in each, every batch size in turn, the two
engines back to back, who goes first changing from one round to the next, so a busy moment slows
both rather than one. Every round is printed with the load average as it began.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from nn.core.config import ModelConfig, RunConfig, TrainConfig
from nn.core.data import load_mnist

from .engine_timing import cpu_name, time_training
from .quick import add_quick

ENGINES = ("numpy", "tensorflow")
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
REPO = Path(__file__).resolve().parent.parent
QUICK = {"batch_sizes": [128], "rounds": 1, "epochs": 2, "train_size": 2000}


@dataclass(frozen=True)
class Run:
    """One engine's training at one batch size in one round."""

    round_number: int
    engine: str
    batch_size: int
    load: float  # the 1-minute load average as it started
    epoch_seconds: list[float]
    test_accuracy: float | None
    device: str

    @property
    def steady(self) -> float:
        return statistics.median(self.epoch_seconds[1:])


def measure_one(engine: str, batch_size: int, args: argparse.Namespace) -> None:
    """The child process: train once, print what `bench.engine_timing` measured as one JSON line."""
    training = TrainConfig(
        epochs=args.epochs,
        batch_size=batch_size,
        train_size=args.train_size or None,
        engine=engine,
    )
    timing = time_training(RunConfig(ModelConfig(), training), load_mnist(), args.threads)
    print(json.dumps(asdict(timing)))


def run_child(engine: str, batch_size: int, round_number: int, args: argparse.Namespace) -> Run:
    """One training in a fresh interpreter, on `args.threads` threads."""
    env = {**os.environ, **dict.fromkeys(THREAD_VARIABLES, str(args.threads))}
    env |= {"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    options = ["--epochs", args.epochs, "--threads", args.threads, "--train-size", args.train_size or 0]
    command = [sys.executable, "-m", "bench.engines", "--one", engine, str(batch_size), *map(str, options)]
    load = os.getloadavg()[0]
    done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    timed = json.loads(done.stdout.strip().splitlines()[-1])
    if timed["status"] != "completed":
        raise RuntimeError(f"{engine} at batch {batch_size} did not complete: {timed['status']}")
    return Run(
        round_number,
        engine,
        batch_size,
        load,
        timed["epoch_seconds"],
        timed["test_accuracy"],
        timed["device"],
    )


def run_all(args: argparse.Namespace) -> list[Run]:
    """Every round, alternating engines and batch sizes; progress on stderr."""
    runs = []
    for r in range(1, args.rounds + 1):
        order = ENGINES if r % 2 else ENGINES[::-1]
        for batch_size in args.batch_sizes:
            for engine in order:
                print(f"round {r}: {engine} batch {batch_size} …", file=sys.stderr, flush=True)
                runs.append(run_child(engine, batch_size, r, args))
    return runs


def _of(runs: list[Run], engine: str, batch_size: int) -> list[Run]:
    return [r for r in runs if r.engine == engine and r.batch_size == batch_size]


def _steady(runs: list[Run]) -> float:
    return statistics.median(s for r in runs for s in r.epoch_seconds[1:])


def summary_table(runs: list[Run], batch_sizes: list[int]) -> str:
    lines = [
        "| batch | NumPy s/epoch | TensorFlow s/epoch | TF ÷ NumPy | NumPy 1st epoch | TF 1st epoch "
        "| test acc NumPy / TF |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for b in batch_sizes:
        numpy_runs, tf_runs = _of(runs, "numpy", b), _of(runs, "tensorflow", b)
        firsts = [statistics.median(r.epoch_seconds[0] for r in rs) for rs in (numpy_runs, tf_runs)]
        accuracies = [statistics.median(r.test_accuracy or 0.0 for r in rs) for rs in (numpy_runs, tf_runs)]
        lines.append(
            f"| {b} | {_steady(numpy_runs):.3f} | {_steady(tf_runs):.3f} | "
            f"{_steady(tf_runs) / _steady(numpy_runs):.2f} | {firsts[0]:.3f} | {firsts[1]:.3f} | "
            f"{accuracies[0]:.4f} / {accuracies[1]:.4f} |"
        )
    return "\n".join(lines)


def rounds_table(runs: list[Run]) -> str:
    lines = [
        "| round | batch | load (1 min) as it began | NumPy s/epoch | TensorFlow s/epoch | TF ÷ NumPy |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    pairs: dict[tuple[int, int], dict[str, Run]] = {}
    for run in runs:
        pairs.setdefault((run.round_number, run.batch_size), {})[run.engine] = run
    for (r, b), pair in pairs.items():
        numpy_run, tf_run = pair["numpy"], pair["tensorflow"]
        began = next(iter(pair.values())).load  # of whichever engine went first
        lines.append(
            f"| {r} | {b} | {began:.2f} | {numpy_run.steady:.3f} | {tf_run.steady:.3f} | "
            f"{tf_run.steady / numpy_run.steady:.2f} |"
        )
    return "\n".join(lines)


def header_lines(args: argparse.Namespace, runs: list[Run], load_before: tuple[float, ...]) -> list[str]:
    versions = [f"Python {platform.python_version()}"]
    versions += [f"{p} {metadata.version(p)}" for p in ("numpy", "tensorflow", "keras")]
    images = args.train_size or 60_000
    return [
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {cpu_name()}, {os.cpu_count()} cores; load average (1, 5, 15 min) "
        f"{_loads(load_before)} before, {_loads(os.getloadavg())} after",
        "software: " + ", ".join(versions),
        f"TensorFlow engine: {next(r.device for r in runs if r.engine == 'tensorflow')}",
        f"settings: 784-128-64-10, TrainConfig() defaults but batch size and epochs; {args.threads} threads "
        f"for both engines; {args.epochs} epochs of {images} images per fresh process, s/epoch the median "
        f"of epochs 2–{args.epochs} (each with its test-set scoring), 1st epoch apart; "
        f"{args.rounds} round(s), alternating",
    ]


def _loads(loads: tuple[float, ...]) -> str:
    return " ".join(f"{x:.2f}" for x in loads)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.engines", description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[64, 128, 512])
    parser.add_argument("--rounds", type=int, default=3, help="times every configuration runs, alternating")
    parser.add_argument(
        "--epochs", type=int, default=3, help="epochs per process (at least 2: the 1st is apart)"
    )
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for both engines")
    parser.add_argument("--train-size", type=int, default=0, help="training images (0: all 60,000)")
    # A child process's one training (`run_child`), not for people:
    parser.add_argument("--one", nargs=2, metavar=("ENGINE", "BATCH"), help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    add_quick(parser, QUICK, argv)
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2: the first epoch is not the steady state")
    if args.one:
        measure_one(args.one[0], int(args.one[1]), args)
        return 0
    load_before = os.getloadavg()
    runs = run_all(args)
    print("\n".join([*header_lines(args, runs, load_before), ""]))
    print(summary_table(runs, args.batch_sizes), "", "Every round:", "", rounds_table(runs), sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
