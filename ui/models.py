"""The model registry: the networks saved under `models/`, and which one the app is using.

Shipped models (such as `default.npz`) sit in the models directory itself; models trained in
the app go to its `runs/` folder, each under a name of its own (time stamp plus a random
suffix), so two browser tabs that finish training in the same second still write two files.
Every write goes through `nn.persistence.save_model`, which is atomic. The choice of active
model is a one-line pointer file, so it survives a restart of the app.

Tests and experiments point the app at another directory with `DIGITLAB_MODELS_DIR`.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from nn.errors import ModelFileError
from nn.network import MLP
from nn.persistence import load_model, save_model
from nn.runstore import MODELS_DIR_ENV, default_name

DEFAULT_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
RUNS = "runs"
ACTIVE_POINTER = "active.txt"
RUN_STAMP = "%Y%m%d-%H%M%S"

Loader = Callable[[Path], MLP]


@dataclass(frozen=True)
class SavedModel:
    """What the sidebar tells a person about one model file, read from its metadata."""

    path: Path
    layer_sizes: tuple[int, ...]
    test_accuracy: float | None
    trained_at: str | None
    status: str | None
    epochs_done: int | None
    name: str | None = None  # its run's name in the run store, unless that is the automatic one

    @property
    def architecture(self) -> str:
        return "-".join(map(str, self.layer_sizes))

    @property
    def trained_in_app(self) -> bool:
        return self.path.parent.name == RUNS

    @property
    def label(self) -> str:
        """Short name for a model picker: shipped models by name, runs by their name and time."""
        accuracy = f" · {self.test_accuracy:.1%}" if self.test_accuracy is not None else ""
        return f"{self._name} · {self.architecture}{accuracy}"

    @property
    def _name(self) -> str:
        if not self.trained_in_app:
            return self.path.stem
        try:  # run-YYYYmmdd-HHMMSS-…: the time the run was saved, in the server's local time
            saved = datetime.strptime("-".join(self.path.stem.split("-")[1:3]), RUN_STAMP)
        except ValueError:  # renamed by hand: its names are all we know
            return self.name or self.path.stem
        # Two fine-tunes of one model share a name: the time tells them apart.
        return f"{self.name} ({saved:%d %b %H:%M})" if self.name else f"run {saved:%d %b %H:%M:%S}"


def models_dir() -> Path:
    """Where models live: `$DIGITLAB_MODELS_DIR` if set, else the repository's `models/`."""
    return Path(os.environ.get(MODELS_DIR_ENV) or DEFAULT_MODELS_DIR)


def describe(path: Path, load: Loader = load_model, run_name: str | None = None) -> SavedModel:
    """Read a model file's metadata, or raise `ModelFileError`; `run_name`: its name as a run."""
    model = load(path)
    meta = model.meta
    if run_name == default_name(model):  # says no more than the label already does
        run_name = None
    return SavedModel(
        path=path,
        layer_sizes=model.layer_sizes,
        test_accuracy=meta.get("test_accuracy"),
        trained_at=meta.get("trained_at"),
        status=meta.get("status"),
        epochs_done=meta.get("epochs_done"),
        name=run_name,
    )


def list_models(
    directory: Path, load: Loader = load_model, run_names: Mapping[Path, str] | None = None
) -> tuple[list[SavedModel], list[str]]:
    """Shipped models by name, then runs newest first; plus a message for each unreadable file.

    `run_names` gives the run store's names of model files (see `RunStore.names`). A damaged
    file must not hide the good ones, so it is reported, not raised.
    """
    names = {Path(path).resolve(): name for path, name in (run_names or {}).items()}
    shipped = sorted(directory.glob("*.npz"))
    runs = sorted((directory / RUNS).glob("*.npz"), reverse=True)  # names start with a time stamp
    models, problems = [], []
    for path in [*shipped, *runs]:
        try:
            models.append(describe(path, load, names.get(path.resolve())))
        except ModelFileError as exc:
            problems.append(str(exc))
    return models, problems


def new_run_path(directory: Path, hidden: tuple[int, ...], now: datetime | None = None) -> Path:
    """A fresh file name under `runs/` that no other run (in this or another tab) has taken."""
    stamp = (now or datetime.now()).strftime(RUN_STAMP)
    widths = "x".join(map(str, hidden))
    while True:
        path = directory / RUNS / f"run-{stamp}-{widths}-{secrets.token_hex(3)}.npz"
        if not path.exists():
            return path


def save_run(model: MLP, directory: Path) -> Path:
    """Save a model trained in the app under a new name, atomically, and return its path."""
    return save_model(model, new_run_path(directory, model.layer_sizes[1:-1]))


def read_active(directory: Path) -> Path | None:
    """The model last made active (in any session), if the pointer names an existing file."""
    pointer = directory / ACTIVE_POINTER
    try:
        relative = pointer.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    path = (directory / relative).resolve()
    # A pointer is only followed inside the models directory, whatever its text says.
    if relative and path.is_relative_to(directory.resolve()) and path.is_file():
        return path
    return None


def write_active(directory: Path, path: Path) -> None:
    """Remember `path` as the active model, atomically (a temporary file renamed over)."""
    directory.mkdir(parents=True, exist_ok=True)
    relative = Path(path).resolve().relative_to(directory.resolve()).as_posix()
    fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{ACTIVE_POINTER}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(relative + "\n")
        os.replace(temp, directory / ACTIVE_POINTER)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def initial_choice(models: list[SavedModel], directory: Path) -> SavedModel | None:
    """The model a new session starts with: the remembered one, else the newest run, else any."""
    if not models:
        return None
    remembered = read_active(directory)
    by_path = {m.path.resolve(): m for m in models}
    if remembered is not None and remembered in by_path:
        return by_path[remembered]
    runs = [m for m in models if m.trained_in_app]
    return runs[0] if runs else models[0]
