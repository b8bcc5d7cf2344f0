"""The sidebar's models: each model file the app can use, as a person reads it in the picker.

The run store (`services.runs`) says which files there are, in which order, and which one is
active; this module reads each file's record and says in words what it is: a short label for the
picker (shipped models by name, runs by their name and local time) and a paragraph beneath it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from nn.core.errors import ModelFileError
from nn.core.network import MLP
from nn.core.persistence import load_model
from services.runs import FILE_STAMP, choose_model, default_name, in_runs_folder, model_files

Loader = Callable[[Path], MLP]


@dataclass(frozen=True)
class SavedModel:
    """What the sidebar tells a person about one model file, read from its record."""

    path: Path
    layer_sizes: tuple[int, ...]
    test_accuracy: float | None
    trained_at: str | None  # ISO 8601 with its offset, as `nn.core.training` writes it
    status: str | None
    epochs_done: int | None
    name: str | None = None  # its run's name in the run store, unless that is the automatic one

    @property
    def architecture(self) -> str:
        return "-".join(map(str, self.layer_sizes))

    @property
    def trained_in_app(self) -> bool:
        return in_runs_folder(self.path)

    @property
    def label(self) -> str:
        """Short name for a model picker: shipped models by name, runs by their name and local time."""
        accuracy = f" · {self.test_accuracy:.1%}" if self.test_accuracy is not None else ""
        return f"{self._name} · {self.architecture}{accuracy}"

    @property
    def _name(self) -> str:
        if not self.trained_in_app:
            return self.path.stem
        saved = saved_time(self)
        if saved is None:  # renamed by hand and undated: its names are all we know
            return self.name or self.path.stem
        # Two fine-tunes of one model share a name: the time tells them apart.
        return f"{self.name} ({saved:%d %b %H:%M})" if self.name else f"run {saved:%d %b %H:%M:%S}"


def saved_time(model: SavedModel) -> datetime | None:
    """When a run was trained, in the local time zone: from its record, else its file's UTC stamp."""
    try:
        return datetime.fromisoformat(model.trained_at).astimezone()
    except (TypeError, ValueError):
        pass
    try:  # run-YYYYmmdd-HHMMSS-…
        stamp = "-".join(model.path.stem.split("-")[1:3])
        return datetime.strptime(stamp, FILE_STAMP).replace(tzinfo=UTC).astimezone()
    except ValueError:
        return None


def saved_model(path: Path, load: Loader = load_model, run_name: str | None = None) -> SavedModel:
    """Read a model file's record, or raise `ModelFileError`; `run_name`: its name as a run."""
    model = load(path)
    record = model.record
    if run_name == default_name(model):  # says no more than the label already does
        run_name = None
    return SavedModel(
        path=path,
        layer_sizes=model.layer_sizes,
        test_accuracy=record.test_accuracy,
        trained_at=record.trained_at,
        status=record.status,
        epochs_done=record.epochs_done,
        name=run_name,
    )


def list_models(
    directory: Path, load: Loader = load_model, run_index: Mapping[Path, tuple[int, str]] | None = None
) -> tuple[list[SavedModel], list[str]]:
    """Shipped models by name, then runs newest first (`services.runs.model_files`); plus a
    message for each unreadable file. `run_index` is `RunStore.index()`: recorded runs go by their
    name. A damaged file must not hide the good ones, so it is reported, not raised."""
    names = {Path(path).resolve(): name for path, (_, name) in (run_index or {}).items()}
    models, problems = [], []
    for path in model_files(directory, run_index):
        try:
            models.append(saved_model(path, load, names.get(path.resolve())))
        except ModelFileError as exc:
            problems.append(str(exc))
    return models, problems


def initial_choice(models: list[SavedModel], directory: Path) -> SavedModel | None:
    """The model a new session starts with: the remembered one, else the newest run, else any
    (`services.runs.choose_model`, which the command line follows too)."""
    by_path = {model.path: model for model in models}
    chosen = choose_model(list(by_path), directory)
    return by_path[chosen] if chosen is not None else None


def describe(model: SavedModel) -> str:
    """One paragraph a learner can read: the shape of the network, how good, when trained."""
    hidden = " → ".join(map(str, model.layer_sizes[1:-1]))
    lines = [f"**{model.architecture}**: 784 pixels in → hidden layers {hidden} → 10 digit scores."]
    if model.test_accuracy is not None:
        lines.append(f"Test accuracy **{model.test_accuracy:.2%}** on 10,000 unseen digits.")
    if model.trained_at:
        when = _readable_time(model.trained_at)
        done = model.epochs_done
        epochs = f" ({done} epoch{'s' * (done != 1)}, {model.status})" if done is not None else ""
        lines.append(f"Trained {when}{epochs}.")
    return "  \n".join(lines)


def _readable_time(stamp: str) -> str:
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%d %b %Y, %H:%M")
    except ValueError:  # a hand-edited file: show what it says rather than fail the page
        return stamp
