"""Command line: train a network on MNIST and report every epoch.

python -m digitlab train                          # the defaults: 784-128-64-10, 20 epochs
python -m digitlab train --preset best --save models/best.npz
python -m digitlab train --preset classic --epochs 3   # a preset, with any flag overriding it
python -m digitlab train --hidden 256 128 --epochs 5 --save models/mine.npz
python -m digitlab train --batch-size 1 --optimizer sgd --lr 0.01 --train-size 5000

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
from pathlib import Path

from nn.core.config import PARAMETERS, PRESET_DESCRIPTIONS, PRESETS, RunConfig
from nn.core.data import load_mnist
from nn.core.engine import start_training
from nn.core.errors import DigitLabError
from nn.core.network import MLP
from nn.core.persistence import check_writable, reason, save_model
from nn.core.training import BatchProgress, EpochEnd, Event, TrainingEnd
from services.runs import Run, RunStore


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


def record(model: MLP) -> Run | None:
    """Put the run in the run store, so the app's Compare runs page lists it too."""
    try:
        run = RunStore().add(model, source="cli")
    except (DigitLabError, OSError) as exc:  # the model is trained: warn, and keep it elsewhere
        why = reason(exc) if isinstance(exc, OSError) else exc
        print(f"warning: the run was not recorded: {why}", file=sys.stderr)
        return None
    print(f"recorded as run {run.id}, “{run.name}” ({run.model_path})")
    return run


def keep(model: MLP, save: Path | None) -> bool:
    """Write `--save` and record the run; False if the file asked for could not be written.

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
    run = record(model)
    if saved is None and run is None:
        rescue(model)
    elif save and saved is None:
        print(f"the trained model is kept at {run.model_path}", file=sys.stderr)
    return saved is not None or not save


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
    try:
        if args.save:
            check_writable(args.save)  # before the work, not after it
        run = start_training(config_from_args(args), load_mnist())
        with stop_on_ctrl_c() as stop:
            for event in run.events(stop):
                report(event, live)
        kept = keep(run.model, args.save)
    except DigitLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\naborted; nothing saved", file=sys.stderr)
        return 130
    print(f"test accuracy: {run.model.record.test_accuracy:.4f}")
    return 1 if run.result.status == "diverged" or not kept else 0
