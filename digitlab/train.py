"""Command line: train a network on MNIST and report every epoch.

python -m digitlab train                          # the defaults: 784-128-64-10, 20 epochs
python -m digitlab train --preset best --save models/best.npz
python -m digitlab train --preset classic --epochs 3   # a preset, with any flag overriding it
python -m digitlab train --hidden 256 128 --epochs 5 --save models/mine.npz
python -m digitlab train --batch-size 1 --optimizer sgd --lr 0.01 --train-size 5000
python -m digitlab train --resume                 # go on with the latest interrupted run
python -m digitlab train --resume 12              # … or with job 12

Every run is a job in the run store's journal, and keeps a checkpoint at the end of every epoch:
a run killed half-way (or the app's, when its server stopped) goes on from its last epoch with
`--resume`, ending with the weights it would have had, bit for bit (at the same BLAS threads).

Every hyper-parameter in `nn.core.config.PARAMETERS` becomes a flag, shaped by its kind alone
(`Parameter.flag_options`); the values are split into the run's ModelConfig and TrainConfig by
`RunConfig`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from nn.core.checkpoint import checkpointed, load_checkpoint
from nn.core.config import PARAMETERS, PRESET_DESCRIPTIONS, PRESETS, RunConfig
from nn.core.data import load_mnist
from nn.core.engine import Training
from nn.core.errors import DigitLabError
from nn.core.events import BatchProgress, EpochEnd, Event, TrainingEnd
from nn.core.network import MLP
from nn.core.persistence import check_writable, reason, save_model
from nn.engines import start_training
from services.job_states import JobState
from services.journal import Journal
from services.runs import Run, RunStore
from services.tasks import TrainTask
from services.worker import save_run

LATEST = "latest"  # `--resume` alone


class ResumeError(DigitLabError):
    """There is no such interrupted run, or it cannot be resumed."""


def build_parser(defaults: RunConfig | None = None) -> argparse.ArgumentParser:
    """The parser, its flags defaulting to `defaults` (a preset's values, or RunConfig's)."""
    values = (defaults or RunConfig()).values()
    parser = argparse.ArgumentParser(
        prog="python -m digitlab train",
        description="Train a fully connected network on MNIST with NumPy and report each epoch.",
        epilog="presets: " + "; ".join(f"{name} — {text}" for name, text in PRESET_DESCRIPTIONS.items()),
    )
    parser.add_argument(
        "--preset",
        choices=PRESETS,
        help="start from a named recipe (listed below); flags given as well override its values",
    )
    for name, spec in PARAMETERS.items():
        default = values[name]
        # The default as argparse would give it, so a flag left out and one given read alike.
        options = {"help": f"{spec.help} (default: {spec.typed(default)})", "default": spec.to_json(default)}
        parser.add_argument(spec.flag, **options | spec.flag_options())
    parser.add_argument("--save", type=Path, metavar="PATH", help="write the trained model to this .npz file")
    parser.add_argument(
        "--resume",
        nargs="?",
        const=LATEST,
        metavar="JOB",
        help="go on with an interrupted run from its last checkpoint: the latest of this run store, or "
        "job JOB; it keeps its own settings (every flag but --save is ignored)",
    )
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Arguments with the preset's values as defaults, so explicit flags override the preset."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--preset")
    preset = early.parse_known_args(argv)[0].preset
    return build_parser(PRESETS.get(preset)).parse_args(argv)


def config_from_args(args: argparse.Namespace) -> RunConfig:
    return RunConfig.from_values({name: getattr(args, name) for name in PARAMETERS})


def format_epoch(event: EpochEnd) -> str:
    held_out = (
        f"test acc {event.test_accuracy:.4f}"
        if event.test_accuracy is not None
        else f"val acc {event.val_accuracy:.4f}"
        if event.val_accuracy is not None
        else ""
    )
    width = len(str(event.epochs))
    return (
        f"epoch {event.epoch:>{width}}/{event.epochs}  loss {event.loss:.4f}  "
        f"train acc {event.train_accuracy:.4f}  {held_out}  {event.seconds:.2f}s"
    )


def resumed_task(which: str) -> TrainTask:
    """The task of the interrupted job `which` (or the latest), to go on from its checkpoint."""
    journal = Journal()
    journal.interrupt_orphaned_jobs()  # a run killed since the last server or command line started
    offered = journal.interrupted()
    chosen = [i for i in offered if which in (LATEST, str(i.job.id))][:1]
    if not chosen:
        known = ", ".join(str(i.job.id) for i in offered) or "none"
        raise ResumeError(
            f"no interrupted run {'' if which == LATEST else which + ' '}to resume "
            f"in {journal.path} (interrupted jobs: {known})"
        )
    [interrupted] = chosen
    if interrupted.why_not:
        raise ResumeError(f"job {interrupted.job.id} cannot be resumed: {interrupted.why_not}")
    if interrupted.epochs_done is None:
        print(f"starting job {interrupted.job.id} again from the beginning: it kept no checkpoint")
    else:
        print(
            f"resuming job {interrupted.job.id} after epoch {interrupted.epochs_done} of {interrupted.epochs}"
        )
    return replace(interrupted.task, resumed_from=interrupted.job.id)


class Journalled:
    """This run as a job of the journal, with its checkpoint; a journal that cannot be written
    is a warning (the run trains, and cannot be resumed), not a reason to refuse the work."""

    def __init__(self, task: TrainTask):
        self.task = task
        self.journal: Journal | None = None
        try:
            self.journal = Journal()
            self.id = self.journal.open_job(task)
            self.journal.update_job(self.id, JobState.RUNNING)
        except (DigitLabError, OSError) as exc:
            why = reason(exc) if isinstance(exc, OSError) else exc
            print(f"warning: no checkpoints are kept, the run cannot be resumed: {why}", file=sys.stderr)
            self.journal = None

    def events(self, training: Training, stop: threading.Event) -> Iterator[Event]:
        """The training's events, checkpointed; a resumed training first goes back to its checkpoint."""
        if self.journal is None:
            return training.events(stop)
        checkpoint = self.journal.checkpoint(self.id)
        if self.task.resumed_from is not None and checkpoint.exists():  # it took the interrupted job's
            training.restore(load_checkpoint(checkpoint).state)
        return checkpointed(training, checkpoint, stop)

    def end(self, state: JobState, message: str | None = None, run: Run | None = None) -> None:
        if self.journal is not None:
            self.journal.update_job(self.id, state, message, run.id if run else None)


def save_as_run(model: MLP, task: TrainTask) -> Run | None:
    """Put the run in the run store, so the app's Compare runs page lists it too."""
    try:
        run = save_run(RunStore(), task, model)
    except (DigitLabError, OSError) as exc:  # the model is trained: warn, and keep it elsewhere
        why = reason(exc) if isinstance(exc, OSError) else exc
        print(f"warning: the run was not recorded: {why}", file=sys.stderr)
        return None
    print(f"recorded as run {run.id}, “{run.name}” ({run.model_path})")
    return run


def keep(model: MLP, task: TrainTask, save: Path | None) -> tuple[bool, Run | None]:
    """Write `--save` and record the run (as `task` says); False if the file asked for could not be
    written, and the run recorded if it was.

    Recording is a convenience (the Compare runs page lists the run): if only it fails, that is
    a warning. A trained model is never lost to a write that fails at the end (a full disk, a folder
    removed meanwhile): the run store's copy stands in for a failed `--save`, and a temporary
    file for both; either way the message says where the model is.
    """
    saved = None
    if save:
        try:
            saved = save_model(model, save)
            print(f"saved {saved}")
        except OSError as exc:
            print(f"error: could not write {save}: {reason(exc)}", file=sys.stderr)
    run = save_as_run(model, task)
    if saved is None and run is None:
        rescue(model)
    elif save and saved is None:
        print(f"the trained model is kept at {run.model_path}", file=sys.stderr)
    return saved is not None or not save, run


def rescue(model: MLP) -> None:
    """The last resort: the system's temporary folder."""
    fd, temp = tempfile.mkstemp(prefix="digitlab-model-", suffix=".npz")
    os.close(fd)
    try:
        print(f"the trained model is kept at {save_model(model, temp)}", file=sys.stderr)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        print(f"error: the trained model could not be written anywhere: {reason(exc)}", file=sys.stderr)


def report(event: Event, live: bool) -> None:
    """Print an event: epochs on stdout; batch progress on a terminal's stderr, overwritten."""
    if isinstance(event, BatchProgress) and live:
        print(
            f"\repoch {event.epoch}: {event.batch}/{event.batches} batches  loss {event.loss:.4f}",
            end="",
            file=sys.stderr,
            flush=True,
        )
    elif isinstance(event, EpochEnd):
        if live:
            print("\r\033[K", end="", file=sys.stderr)
        print(format_epoch(event), flush=True)
    elif isinstance(event, TrainingEnd) and event.status != "completed":
        print(event.message, file=sys.stderr)


@contextlib.contextmanager
def stop_on_ctrl_c() -> Iterator[threading.Event]:
    """The first Ctrl-C ends the run after its current batch, keeping (and saving) what it has
    learned; a second one aborts at once. The previous handler is restored afterwards."""
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        print("\nstopping after this batch (Ctrl-C again to abort)", file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGINT, request_stop)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    live = sys.stderr.isatty()
    job: Journalled | None = None
    try:
        if args.save:
            check_writable(args.save)  # before the work, not after it
        if args.resume:
            task = resumed_task(args.resume)
        else:  # refused before MNIST is read
            task = TrainTask(config_from_args(args).validate(), source="cli", activate=False)
        training = start_training(task.config, load_mnist())
        print(f"training on {training.device}", file=sys.stderr, flush=True)
        job = Journalled(task)
        with stop_on_ctrl_c() as stop:
            for event in job.events(training, stop):
                report(event, live)
        kept, run = keep(training.model, task, args.save)
        job.end(JobState.FINISHED, run=run)
    except DigitLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if job is not None:
            job.end(JobState.FAILED, str(exc))
        return 2
    except KeyboardInterrupt:
        print("\naborted; nothing saved (go on from the last epoch with --resume)", file=sys.stderr)
        if job is not None:
            job.end(JobState.INTERRUPTED, "aborted with a second Ctrl-C")
        return 130
    print(f"test accuracy: {training.model.record.test_accuracy:.4f}")
    return 1 if training.result.status == "diverged" or not kept else 0
