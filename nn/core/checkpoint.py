"""Checkpoints: a training's whole state in one file, so a run outlives a crash or a restart.

A checkpoint is a model file (`nn.core.persistence`: the network's weights as of the end of an
epoch, its config and its record) with the rest of the training's state beside it: the optimizer's
running averages as arrays, and as JSON the training config, the random generator's state, how
many epochs and steps are done, the history so far, the time spent and the first batch's loss.
Restored into a fresh training (`nn.core.engine.Training.restore`), it carries the run on exactly
as if it had never stopped.

It is written atomically, like a model, and read as strictly, never unpickled: a damaged or
hostile checkpoint is a `CheckpointError` saying what is wrong, and nothing is trained from it.
"""

from __future__ import annotations

import json
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from tokenize import TokenError
from typing import Any

import numpy as np

from .engine import Training
from .errors import DigitLabError, ModelFileError
from .events import EpochEnd, Event
from .network import MLP
from .optimizers import OptimizerState, make_optimizer
from .persistence import model_arrays, model_from_arrays, read_arrays, write_atomically
from .record import READERS
from .training import TrainingState

STATE = "training_state"  # the JSON entry
MAX_STATE_BYTES = 64 * 1024 * 1024  # far above the JSON of 1,000 epochs' history
AVERAGE = "average"  # the optimizer's running averages: average0, average1, …


class CheckpointError(DigitLabError):
    """A checkpoint cannot be used: missing, damaged, or not of the run it claims to be."""


@dataclass(frozen=True)
class CheckpointProgress:
    """How far the training in a checkpoint had got."""

    epochs_done: int
    epochs: int


@dataclass(frozen=True)
class Checkpoint:
    """The network as of a completed epoch, and where its training was then."""

    model: MLP
    state: TrainingState


def save_checkpoint(model: MLP, state: TrainingState, path: str | Path) -> Path:
    """Write `state`, taken from a training of `model`, to `path` atomically."""
    entries = {
        "config": state.config.to_dict(),
        "rng": state.rng,
        "epochs_done": state.epochs_done,
        "steps": state.optimizer.steps,
        "history": [asdict(epoch) for epoch in state.history],
        "seconds": state.seconds,
        "started": state.started,
        "starting_loss": state.starting_loss,
    }
    arrays = model_arrays(model) | {STATE: np.array(json.dumps(entries))}
    arrays |= {f"{AVERAGE}{i}": average for i, average in enumerate(state.optimizer.averages)}
    return write_atomically(path, lambda f: np.savez(f, **arrays))


def checkpointed(training: Training, path: Path, stop: threading.Event | None = None) -> Iterator[Event]:
    """`training.events(stop)`, with its checkpoint written to `path` before the first epoch and at
    the end of every epoch, before that epoch's `EpochEnd` is passed on: whoever hears of an epoch
    can count on its checkpoint."""
    save_checkpoint(training.model, training.state(), path)
    for event in training.events(stop):
        if isinstance(event, EpochEnd):
            save_checkpoint(training.model, training.state(), path)
        yield event


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint written by `save_checkpoint`, or raise `CheckpointError` saying why not."""
    try:
        arrays = read_arrays(path)
        averages = sorted(name for name in arrays if name.startswith(AVERAGE))
        extra = {STATE, *averages}
        model = model_from_arrays({k: v for k, v in arrays.items() if k not in extra}, str(path))
        if STATE not in arrays or arrays[STATE].shape != () or arrays[STATE].dtype.kind != "U":
            raise ValueError(f"its {STATE!r} entry is missing or is not a JSON string")
        state = _state(json.loads(str(arrays[STATE])), model, [arrays[name] for name in averages])
    except ModelFileError as exc:
        raise CheckpointError(f"the checkpoint cannot be used: {exc}") from None
    except (ValueError, TypeError, KeyError, RecursionError) as exc:  # json's errors are ValueErrors
        raise CheckpointError(f"the checkpoint {path} cannot be used: {exc}") from None
    return Checkpoint(model, state)


def read_progress(path: str | Path) -> CheckpointProgress:
    """How far a checkpoint's training had got, read from its state alone (not its weights: a page
    lists interrupted runs on every rerun); `CheckpointError` if that cannot be read."""
    try:
        with zipfile.ZipFile(path) as archive:
            if archive.getinfo(f"{STATE}.npy").file_size > MAX_STATE_BYTES:
                raise ValueError(f"its {STATE!r} entry is larger than any training's state")
        with np.load(path, allow_pickle=False) as arrays:
            entries = json.loads(str(arrays[STATE]))
        config = READ["config"]("config", entries["config"])
        done = READ["epochs_done"]("epochs_done", entries["epochs_done"])
    except (
        OSError,
        ValueError,
        TypeError,
        KeyError,
        EOFError,
        zipfile.BadZipFile,
        SyntaxError,
        TokenError,
    ) as exc:
        raise CheckpointError(f"the checkpoint {path} cannot be read ({exc})") from None
    return CheckpointProgress(done, config.epochs)


def _state(entries: Any, model: MLP, averages: list[np.ndarray]) -> TrainingState:
    if not isinstance(entries, dict) or set(entries) != set(READ):
        raise ValueError(f"its training state must hold exactly {', '.join(READ)}")
    values = {name: read(name, entries[name]) for name, read in READ.items()}
    config = values["config"]
    if values["epochs_done"] > config.epochs:
        raise ValueError(f"it claims {values['epochs_done']} epochs done of {config.epochs}")
    one = np.zeros(1)  # an optimizer of one parameter says how many averages it keeps
    wanted = len(make_optimizer(config.optimizer, one, one.copy(), 1).running_averages)
    fits = all(a.shape == model.params.shape and a.dtype == model.dtype for a in averages)
    if len(averages) != wanted or not fits:
        raise ValueError(f"a {config.optimizer} optimizer keeps {wanted} averages shaped like the weights")
    return TrainingState(
        config=config,
        params=model.params.copy(),
        optimizer=OptimizerState(values["steps"], tuple(averages)),
        rng=values["rng"],
        epochs_done=values["epochs_done"],
        history=values["history"],
        seconds=values["seconds"],
        started=values["started"],
        starting_loss=values["starting_loss"],
    )


def _generator_state(name: str, value: Any) -> dict[str, Any]:
    """A state NumPy's generator accepts (it checks the kind and the numbers itself)."""
    try:
        np.random.default_rng().bit_generator.state = value
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"{name} is not a state of NumPy's default random generator ({exc})") from None
    return value


def _required(read: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    """The record's reader of an optional value, for a value a checkpoint cannot do without."""

    def checked(name: str, value: Any) -> Any:
        if value is None:
            raise ValueError(f"{name} is missing")
        return read(name, value)

    return checked


# The reader of each JSON entry: the record's own checked readers where the meaning is the same.
READ: dict[str, Callable[[str, Any], Any]] = {
    "config": _required(READERS["training"]),
    "rng": _generator_state,
    "epochs_done": _required(READERS["epochs_done"]),
    "steps": _required(READERS["epochs_done"]),  # a count, 0 or more
    "history": READERS["history"],
    "seconds": _required(READERS["train_seconds"]),  # a number, 0 or more
    "started": _required(READERS["trained_at"]),
    "starting_loss": _required(READERS["train_seconds"]),  # a number, 0 or more
}
