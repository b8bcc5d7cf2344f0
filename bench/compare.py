"""nn/ against PyTorch and Keras on the same MLP, side by side, in one run on this machine.

    python -m bench.compare                     # the full tables (about six minutes)
    python -m bench.compare --quick             # seconds: nn/ and the naive code on a subset
    python -m bench.compare --contenders nn torch-loop --batch-sizes 64 128

Every configuration trains in a fresh process (`bench.worker`), and the runs alternate — all
contenders at one batch size, then the next size, then the whole round again — so that a busy
moment on a shared machine slows everyone rather than one row. The first epoch of each process
is a warm-up (thread pools, graph tracing, caches) and is not timed; the table shows the median
of the other epochs over all rounds. Frameworks that are not installed are reported as missing.

nn/ also runs alone at larger batch sizes (`--nn-batch-sizes`), and every nn/ run is followed
at once by a measurement of the GEMM floor (`bench.floor`): this machine's rate moves by half
from one minute to the next, so each run is compared with the floor of its own moment.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from .floor import GEMM_SIZE, epoch_flops
from .frameworks import CONTENDERS, LABELS, LAYER_SIZES, MNIST_TRAIN, PER_SAMPLE_LR, Job
from .quick import add_quick

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
SLOWING_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
REPO = Path(__file__).resolve().parent.parent
QUICK = {
    "contenders": ["nn"],
    "batch_sizes": [64],
    "nn_batch_sizes": [256],
    "epochs": 2,
    "rounds": 1,
    "train_size": 10_000,
    "per_sample_size": 1_000,
}


@dataclass
class Row:
    """All the runs of one contender at one batch size, summarised."""

    label: str
    batch_size: int
    epoch_seconds: list[float]
    accuracies: list[float]
    peak_rss_mb: float
    missing: str | None = None
    scale: float = 1.0  # per-sample rows train on a subset: seconds × scale = a full epoch
    # nn/ rows, one entry per round, from the floor measured right after that round's run:
    floor_seconds: list[float] = field(default_factory=list)  # the epoch's FLOPs at the GEMM rate
    floor_ratios: list[float] = field(default_factory=list)  # nn/'s s/epoch ÷ that floor
    products_ratios: list[float] = field(default_factory=list)  # nn/'s products alone ÷ that floor

    @property
    def seconds(self) -> float:
        return statistics.median(self.epoch_seconds) * self.scale


def run_worker(contender: str, threads: int, *options: str) -> dict:
    """Run `bench.worker` in a fresh interpreter with `threads` threads for every library."""
    env = {**os.environ, **dict.fromkeys(THREAD_VARIABLES, str(threads))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "bench.worker", contender, "--threads", str(threads), *options]
    done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}", file=sys.stderr)
        return {"missing": f"failed (exit status {done.returncode}; its error is printed above)"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_job(job: Job) -> dict:
    options = ["--batch-size", job.batch_size, "--epochs", job.epochs, "--lr", job.lr]
    return run_worker(job.contender, job.threads, *map(str, [*options, "--train-size", job.train_size]))


def available(contender: str) -> str | None:
    """None if the contender can run here, otherwise why not."""
    module = CONTENDERS[contender][1]
    return None if importlib.util.find_spec(module) else f"missing ({module} is not installed)"


def plan(args: argparse.Namespace) -> list[list[Job]]:
    """The jobs of each round, in the order they run; every nn/ run is followed by a floor."""
    rounds = []
    for r in range(args.rounds):
        shift = r % len(args.contenders)
        order = args.contenders[shift:] + args.contenders[:shift]  # who goes first rotates
        jobs = []
        for batch_size, contenders in [
            *((b, order) for b in args.batch_sizes),
            *((b, ["nn"]) for b in args.nn_batch_sizes),
        ]:
            for contender in contenders:
                if available(contender):
                    continue
                jobs.append(Job(contender, batch_size, args.epochs, args.lr, args.train_size, args.threads))
                if contender == "nn" and not args.no_floor:
                    jobs.append(Job("floor", batch_size, 0, 0.0, 0, args.threads))
        if args.per_sample_size:
            jobs += [Job(c, 1, 1, PER_SAMPLE_LR, args.per_sample_size, args.threads) for c in ("nn", "naive")]
        rounds.append(jobs)
    return rounds


def run_all(args: argparse.Namespace) -> tuple[list[Row], list[dict]]:
    results: dict[tuple[str, int], list[dict]] = {}
    raw = []
    for r, jobs in enumerate(plan(args), start=1):
        for job in jobs:
            print(f"round {r}: {job.contender} batch {job.batch_size} …", file=sys.stderr, flush=True)
            outcome = run_job(job)
            raw.append({**asdict(job), **outcome})
            results.setdefault((job.contender, job.batch_size), []).append(outcome)
    return summarise(args, results), raw


def summarise(args: argparse.Namespace, results: dict[tuple[str, int], list[dict]]) -> list[Row]:
    rows = []
    keys = [(c, b) for b in args.batch_sizes for c in args.contenders]
    keys += [("nn", b) for b in args.nn_batch_sizes]
    if args.per_sample_size:
        keys += [("nn", 1), ("naive", 1)]
    for contender, batch_size in keys:
        label = LABELS[contender] + (", per sample" if batch_size == 1 and contender == "nn" else "")
        outcomes = results.get((contender, batch_size))
        if not outcomes or "missing" in outcomes[0]:
            reason = available(contender) or (outcomes[0]["missing"] if outcomes else "not run")
            rows.append(Row(label, batch_size, [], [], 0.0, missing=reason))
            continue
        size = args.per_sample_size if batch_size == 1 else args.train_size
        row = Row(
            label,
            batch_size,
            [s for o in outcomes for s in _timed(o)],
            [o["test_accuracy"] for o in outcomes],
            max(o["peak_rss_mb"] for o in outcomes),
            scale=MNIST_TRAIN / size,
        )
        if contender == "nn":
            _add_floors(row, outcomes, results.get(("floor", batch_size), []))
        rows.append(row)
    return rows


def _timed(outcome: dict) -> list[float]:
    return outcome["epoch_seconds"][1:] or outcome["epoch_seconds"]  # the first is a warm-up


def _add_floors(row: Row, outcomes: list[dict], floors: list[dict]) -> None:
    """Pair each round's nn/ run with the floor measured right after it."""
    flops = epoch_flops(LAYER_SIZES, MNIST_TRAIN)
    for outcome, floor in zip(outcomes, floors):
        floor_seconds = flops / floor["gemm_flops_per_second"]
        row.floor_seconds.append(floor_seconds)
        row.floor_ratios.append(statistics.median(_timed(outcome)) * row.scale / floor_seconds)
        row.products_ratios.append(floor["products_seconds"] / floor_seconds)


def format_table(rows: list[Row]) -> str:
    nn_seconds = {r.batch_size: r.seconds for r in rows if r.label.startswith("nn/") and not r.missing}
    lines = [
        "| contender | batch | s/epoch (median) | × nn/ time | test acc | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        if row.missing:
            lines.append(f"| {row.label} | {row.batch_size} | {row.missing} | | | |")
            continue
        ratio = row.seconds / nn_seconds[row.batch_size] if row.batch_size in nn_seconds else float("nan")
        star = "*" if row.scale != 1 else ""
        lines.append(
            f"| {row.label} | {row.batch_size} | {row.seconds:.3f}{star} | {ratio:.2f} | "
            f"{statistics.median(row.accuracies):.4f} | {row.peak_rss_mb:.0f} |"
        )
    return "\n".join(lines)


def floor_lines(rows: list[Row]) -> list[str]:
    measured = [r for r in rows if r.floor_ratios]
    if not measured:
        return []
    flops = epoch_flops(LAYER_SIZES, MNIST_TRAIN)
    lines = [
        f"GEMM floor: an epoch of {'-'.join(map(str, LAYER_SIZES))} is {flops / 1e9:.1f} GFLOP of matrix "
        f"products. Right after every nn/ run a fresh process measures the rate of a {GEMM_SIZE}² float32 "
        "product (floor = FLOPs ÷ rate) and times the products alone of an epoch at that batch size; "
        "medians over the rounds:",
        "",
        "| batch | nn/ s/epoch | floor s/epoch | GEMM GFLOP/s | nn/ ÷ floor | products alone ÷ floor |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in measured:
        floor = statistics.median(row.floor_seconds)
        lines.append(
            f"| {row.batch_size} | {row.seconds:.3f} | {floor:.3f} | {flops / floor / 1e9:.0f} | "
            f"{statistics.median(row.floor_ratios):.2f} | {statistics.median(row.products_ratios):.2f} |"
        )
    best = min(measured, key=lambda r: statistics.median(r.floor_ratios))
    ratio = statistics.median(best.floor_ratios)
    lines.append(f"nn/ at its best batch size ({best.batch_size}) is {ratio:.2f} × the floor")
    return lines


def machine_lines(args: argparse.Namespace) -> list[str]:
    import numpy as np

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    versions = [f"Python {platform.python_version()}", f"numpy {np.__version__} ({_blas()})"]
    for package in ("torch", "tensorflow-cpu", "keras"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} not installed")
    lines = [
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {cpu}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end",
        "software: " + ", ".join(versions),
        f"settings: {args.threads} threads; lr {args.lr} (per-sample {PER_SAMPLE_LR}), momentum 0.9 "
        f"(per-sample: plain SGD); {args.epochs} epochs per process, first untimed; {args.rounds} round(s); "
        f"{args.train_size} training images",
    ]
    for name in SLOWING_VARIABLES:
        if name in os.environ:
            lines.append(f"warning: {name}={os.environ[name]} is set and may slow NumPy's BLAS")
    return lines


def _blas() -> str:
    try:
        from threadpoolctl import threadpool_info

        blas = next(i for i in threadpool_info() if i["user_api"] == "blas")
        return f"{blas['internal_api']} {blas['version']}, {blas.get('architecture', '?')} kernels"
    except (ImportError, StopIteration):
        import numpy as np

        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas['name']} {blas['version']}"


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--contenders",
        nargs="+",
        default=["nn", "torch-loop", "torch-loader", "keras"],
        choices=[c for c in CONTENDERS if c != "naive"],
    )
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[32, 64, 128, 256])
    parser.add_argument(
        "--nn-batch-sizes",
        nargs="*",
        type=int,
        default=[512, 1024, 2048, 4096],
        help="more batch sizes for nn/ alone, to find where it comes closest to the GEMM floor",
    )
    parser.add_argument("--epochs", type=int, default=3, help="epochs per process; the first is not timed")
    parser.add_argument("--rounds", type=int, default=2, help="times every configuration runs, alternating")
    parser.add_argument("--train-size", type=int, default=MNIST_TRAIN)
    parser.add_argument(
        "--per-sample-size",
        type=int,
        default=10_000,
        help="images for the per-sample rows (nn/ with batch 1, the naive code); 0 skips them",
    )
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-floor", action="store_true", help="skip the GEMM floor after nn/ runs")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every run's raw numbers here")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    add_quick(parser, QUICK, argv)
    args = parser.parse_args(argv)
    if min(args.batch_sizes) < 2:
        parser.error("batch size 1 is the per-sample mode: set its subset with --per-sample-size")
    rows, raw = run_all(args)
    lines = [*machine_lines(args), "", format_table(rows), ""]
    subsets = sorted({MNIST_TRAIN / r.scale for r in rows if r.scale != 1 and not r.missing})
    if subsets:
        sizes = " or ".join(f"{size:.0f}" for size in subsets)
        lines.append(f"* trained on {sizes} images per epoch; s/epoch is scaled to the full {MNIST_TRAIN}")
    lines += floor_lines(rows)
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps({"rows": [asdict(r) for r in rows], "runs": raw}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
