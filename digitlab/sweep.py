"""Command line: a sweep, many runs at once, and a table of how they did.

python -m digitlab sweep --lr 0.01 0.03 0.1 --hidden 64 --hidden 128 64 --epochs 5 --val-size 10000
python -m digitlab sweep --preset best --lr 0.03 0.05 --augment none pen --val-size 10000 --epochs 10
python -m digitlab sweep --batch-size 32 128 512 --val-size 5000 --scheduler tcp://10.0.0.5:8786

Every flag of `digitlab train` takes several values here, built from `nn.core.config.PARAMETERS`
by kind alone (`Parameter.sweep_flag_options`); a widths flag (`--hidden`) is repeated instead,
once per architecture. A parameter given several values is swept (one to three of them); every
combination is one run, trained in this machine's worker pool (or on a Dask cluster with
`--scheduler` or DIGITLAB_DASK_SCHEDULER) and recorded in the run store, where the app's Sweeps
page shows it too. The runs are ranked by validation accuracy, and only the best one's test
accuracy is printed (services/sweeps.py says why).
"""

from __future__ import annotations

import argparse
import sys
import time

from nn.core.config import PARAMETERS, PRESET_DESCRIPTIONS, PRESETS, RunConfig
from nn.core.errors import DigitLabError
from services import locations
from services.job_states import JobState
from services.jobs import JobRunner, Runner
from services.sweep_store import SweepStore
from services.sweeps import (
    HONEST_CHOICE,
    MAX_AXES,
    Axis,
    Grid,
    Row,
    Sweep,
    config_for,
    start,
)

from .train import stop_on_ctrl_c

POLL_SECONDS = 0.2
SWEEP_THEM = "; several values: sweep them"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m digitlab sweep",
        description=(
            "Train one network per combination of hyper-parameter values (a grid over one to "
            f"{MAX_AXES} of them), several at once, and rank them by validation accuracy. Give a "
            "parameter several values to sweep it; parameters given one value, or none, take it "
            "from the preset (or digitlab train's defaults). A sweep needs --val-size above 0: it picks "
            "its best run on those held-out images and reports the test accuracy of that run only."
        ),
        epilog="presets: "
        + "; ".join(f"{name} — {text}" for name, text in PRESET_DESCRIPTIONS.items())
        + ". Not sweepable: "
        + "; ".join(f"{spec.name} ({spec.not_swept})" for spec in PARAMETERS.values() if not spec.sweepable)
        + ". Exit status: 0 if every run trained, 1 if any failed or diverged, 2 for bad flags, "
        "130 if interrupted.",
    )
    parser.add_argument("--preset", choices=PRESETS, help="the recipe that unswept parameters come from")
    for spec in PARAMETERS.values():
        parser.add_argument(spec.flag, **{"help": spec.help + SWEEP_THEM} | spec.sweep_flag_options())
    parser.add_argument(
        "--scheduler",
        metavar="tcp://HOST:8786",
        help=f"send the runs to this Dask scheduler (default: ${locations.DASK_SCHEDULER_ENV}, "
        "else this machine's worker pool)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes of this machine's pool (default: one per core)",
    )
    parser.add_argument("--name", help="the sweep's name in the run store (default: what it sweeps)")
    return parser


def grid_from_args(args: argparse.Namespace, argv: list[str]) -> Grid:
    """Parameters given several values become the axes, in the order of their flags in `argv`;
    those given one value set the base."""
    fixed, axes = {}, []
    for name, spec in PARAMETERS.items():
        values = getattr(args, name)
        if values is None:
            continue
        values = tuple(spec.read(value) for value in values)
        if len(values) == 1:
            fixed[name] = values[0]
        else:
            axes.append(Axis(name, values))
    flags = [arg.split("=")[0] for arg in argv]
    axes.sort(key=lambda axis: flags.index(PARAMETERS[axis.name].flag))
    base = config_for(PRESETS[args.preset] if args.preset else RunConfig(), fixed)
    if not axes:
        raise DigitLabError(
            "nothing to sweep: give one to three parameters several values, e.g. --lr 0.01 0.03 0.1"
        )
    return Grid(base, tuple(axes))


def make_runner(args: argparse.Namespace) -> Runner:
    address = args.scheduler or locations.dask_scheduler()
    if address:
        from services.cluster import DaskRunner  # dask is imported only when a cluster is used

        return DaskRunner(address, local_workers=args.workers)
    return JobRunner(args.workers or locations.worker_count())


def outcome_line(row: Row, total: int) -> str:
    """One line for a run that is over, e.g. "[2/6] finished  lr 0.03 · hidden 64  val 97.10%"."""
    head = f"[{row.index + 1}/{total}] {row.status:<10} {row.label}"
    if row.state in (JobState.FAILED, JobState.INTERRUPTED) or row.run is None:
        return f"{head}  — {row.message or 'nothing saved'}"
    seconds = f"{row.run.seconds:.0f} s" if row.run.seconds is not None else "?"
    accuracy = f"{row.val_accuracy:.2%}" if row.val_accuracy is not None else "—"
    epochs = f"{len(row.history)} epoch{'s' * (len(row.history) != 1)}"
    return f"{head}  val acc {accuracy}  {epochs}  {seconds}  run {row.run.id}"


def table(view_rows: list[Row], names: tuple[str, ...]) -> str:
    """The final table, best validation accuracy first."""
    header = ["rank", *names, "val acc", "epochs", "time", "run", "status"]
    lines = [header]
    for rank, row in enumerate(view_rows, 1):
        run = row.run
        lines.append(
            [
                str(rank),
                *(PARAMETERS[n].show(row.point[n]) for n in names),
                f"{row.val_accuracy:.2%}" if row.val_accuracy is not None else "—",
                str(len(row.history)),
                f"{run.seconds:.0f} s" if run and run.seconds is not None else "—",
                str(run.id) if run else "—",
                row.status,
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines)


def watch(sweep: Sweep) -> bool:
    """Print a line per run as it ends; Ctrl-C cancels the sweep. Whether it was cancelled."""
    printed: set[int] = set()
    cancelled = False
    with stop_on_ctrl_c() as stop:
        while True:
            if stop.is_set() and not cancelled:
                sweep.cancel()
                cancelled = True
            view = sweep.view()
            for row in view.rows:
                if row.index not in printed and not row.state.unfinished:
                    printed.add(row.index)
                    print(outcome_line(row, len(view.rows)), flush=True)
            if not view.running:
                return cancelled
            time.sleep(POLL_SECONDS)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    try:
        grid = grid_from_args(args, argv).validate()
        runner = make_runner(args)
    except (DigitLabError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        sweep = start(grid, runner, SweepStore(runner.store.path), args.name)
        print(f"sweep {sweep.id}: {grid.describe()} on {runner.place}", flush=True)
        cancelled = watch(sweep)
    except KeyboardInterrupt:
        print("\naborted; runs still going end unsaved", file=sys.stderr)
        return 130
    finally:
        runner.shutdown()
    view = sweep.view()
    print()
    print(table(view.ranked(), grid.names))
    best = view.best()
    if best is not None:
        test = best.run.test_accuracy
        tested = f", test accuracy {test:.2%}" if test is not None else ""
        print(
            f"\nbest: {best.label} — validation accuracy {best.val_accuracy:.2%}{tested} (run {best.run.id})"
        )
        print(HONEST_CHOICE)
    if cancelled:
        return 130
    failed = (JobState.FAILED, JobState.INTERRUPTED)
    unsound = [row for row in view.rows if row.state in failed or row.ended == "diverged"]
    return 1 if unsound or best is None else 0
