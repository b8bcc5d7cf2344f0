"""How much faster is a sweep run many at once? An 8-run sweep, timed three ways.

The sweep: the default preset (784-128-64-10, momentum, cosine decay), 5 epochs, 10,000
validation images, learning rate 0.03 / 0.07 / 0.15 / 0.3 × weight decay 0 / 0.0005. Timed:

- one run after another, in this process (NumPy's BLAS using every core), and again with BLAS
  held to one thread: on a busy machine a multi-threaded BLAS collapses (see RESULTS.md's notes),
  and the second figure shows how much of a speed-up comes from that rather than from parallel runs;
- on this machine's pool (`services.jobs.JobRunner`, one worker per core, BLAS threads shared);
- on a Dask `LocalCluster` of 2 worker processes with one thread each (`services.cluster`).

Each time is the wall time of the whole sweep, from submitting to the last model recorded:
worker start-up and each worker's MNIST load count (they are part of what a user waits for);
the cluster's own start-up is reported apart, since a real cluster is started once, beforehand.
The machine may be shared: the load average is printed with the table.

    python -m bench.sweep                 # about 3-6 minutes on 2 cores
    python -m bench.sweep --epochs 1 --train-size 5000 --val-size 1000   # a quick look
    python -m bench.sweep --quick         # seconds: checks it runs (2 runs); its figures mean nothing
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from threadpoolctl import threadpool_limits

from nn.core.config import PRESETS
from nn.core.data import load_mnist
from nn.engines import start_training
from services.jobs import JobRunner, Runner
from services.runs import RunStore
from services.sweep_store import SweepStore
from services.sweeps import Axis, Grid, config_for, start

from .quick import add_quick

LRS = (0.03, 0.07, 0.15, 0.3)
WEIGHT_DECAYS = (0.0, 0.0005)
QUICK = {"epochs": 1, "train_size": 2_000, "val_size": 500, "lrs": [0.07, 0.15], "weight_decays": [0.0]}


def grid(
    epochs: int,
    train_size: int | None,
    val_size: int,
    lrs: Sequence[float] = LRS,
    weight_decays: Sequence[float] = WEIGHT_DECAYS,
) -> Grid:
    base = config_for(PRESETS["default"], {"epochs": epochs, "train_size": train_size, "val_size": val_size})
    return Grid(base, (Axis("lr", tuple(lrs)), Axis("weight_decay", tuple(weight_decays)))).validate()


def sequential(sweep: Grid, threads: int | None = None) -> float:
    """Every run in this process, one after another (MNIST already loaded, as a worker's is);
    BLAS limited to `threads` if given."""
    mnist = load_mnist()
    with threadpool_limits(limits=threads, user_api="blas"):
        started = time.perf_counter()
        for config in sweep.configs():
            for _ in start_training(config, mnist).events():
                pass
        return time.perf_counter() - started


def on_runner(sweep: Grid, runner: Runner, store: RunStore) -> tuple[float, list[float]]:
    """The sweep's wall time on `runner`, and each run's validation accuracy."""
    started = time.perf_counter()
    running = start(sweep, runner, SweepStore(store.path))
    running.join()
    seconds = time.perf_counter() - started
    view = running.view()
    failed = [row.message for row in view.rows if row.run is None]
    if failed:
        raise RuntimeError(f"runs failed: {failed}")
    return seconds, [row.val_accuracy for row in view.rows]


def local_pool(sweep: Grid, directory: Path) -> float:
    store = RunStore(directory / "pool.sqlite", directory / "pool-models")
    runner = JobRunner(store=store, user_digits_dir=directory / "digits")
    try:
        return on_runner(sweep, runner, store)[0]
    finally:
        runner.shutdown()


def dask_cluster(sweep: Grid, directory: Path) -> tuple[float, float]:
    """The sweep's wall time on a 2-worker LocalCluster, and the cluster's start-up time."""
    from distributed import LocalCluster

    from services.cluster import DaskRunner

    started = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        startup = time.perf_counter() - started
        store = RunStore(directory / "dask.sqlite", directory / "dask-models")
        runner = DaskRunner(cluster.scheduler_address, store=store, user_digits_dir=directory / "digits")
        try:
            return on_runner(sweep, runner, store)[0], startup
        finally:
            runner.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--train-size", type=int, default=None)
    parser.add_argument("--val-size", type=int, default=10_000)
    parser.add_argument("--lrs", type=float, nargs="+", default=LRS, help="the learning rates swept")
    parser.add_argument(
        "--weight-decays", type=float, nargs="+", default=WEIGHT_DECAYS, help="the weight decays swept"
    )
    add_quick(parser, QUICK, argv)
    args = parser.parse_args(argv)
    sweep = grid(args.epochs, args.train_size, args.val_size, args.lrs, args.weight_decays)
    with tempfile.TemporaryDirectory() as temp:
        directory = Path(temp)
        times = {f"one after another, in-process ({os.cpu_count()} BLAS threads)": sequential(sweep)}
        times["one after another, in-process (1 BLAS thread)"] = sequential(sweep, threads=1)
        times[f"local pool ({os.cpu_count()} workers)"] = local_pool(sweep, directory)
        cluster_time, startup = dask_cluster(sweep, directory)
        times["Dask LocalCluster (2 workers × 1 thread)"] = cluster_time
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f} at the end"
    )
    print(
        f"sweep: {sweep.size} runs of the default preset, {args.epochs} epochs, "
        f"{args.train_size or 60_000} images less {args.val_size} held out; lr × weight decay"
    )
    print()
    print("| how | wall time (s) | speed-up |")
    print("| --- | ---: | ---: |")
    baseline = next(iter(times.values()))
    for how, seconds in times.items():
        print(f"| {how} | {seconds:.1f} | {baseline / seconds:.2f} × |")
    print(f"\nthe LocalCluster itself took {startup:.1f} s to start (not included above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
