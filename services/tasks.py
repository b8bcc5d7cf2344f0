"""What a job does: train a network by a `RunConfig`, or fine-tune a model on the user's digits.

A task is made in the server, where a page or a command line submits it to a runner, and is
carried whole to the worker that does it (over a pipe, or to a Dask worker): so it is small,
frozen, and checked where it is made, before it waits for a worker.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nn.core.config import RunConfig, TrainConfig
from nn.core.record import FineTuneMix

from .finetune import FineTuneSettings
from .runs import RunDetails


@dataclass(frozen=True)
class TrainTask:
    """Build a network from `config.model`, train it by `config.training`; save and record it as a
    run of `source`.

    `name` and `details` go to the run's row (None: the automatic name); `activate` makes the
    saved model the active one, as a run started on the Train page should be, while the runs of
    a sweep wait for the person to choose among them. `resumed_from` is the journal's id of an
    interrupted job whose training this one goes on with, from its checkpoint.
    """

    config: RunConfig
    source: str = "app"
    name: str | None = None
    details: RunDetails = field(default_factory=RunDetails)
    activate: bool = True
    resumed_from: int | None = None

    def __post_init__(self) -> None:
        self.config.validate()  # refused here, in the server, before it waits for a worker


@dataclass(frozen=True)
class FineTuneTask:
    """Fine-tune the model at `model_path` on the user's digits; record it as a run."""

    model_path: Path
    settings: FineTuneSettings


Task = TrainTask | FineTuneTask


def task_to_json(task: Task) -> dict[str, Any]:
    """A task as plain JSON values, whole: the journal keeps it so a restarted server can resume it."""
    if isinstance(task, TrainTask):
        return {
            "kind": "train",
            "config": task.config.to_dict(),
            "source": task.source,
            "name": task.name,
            "details": task.details.to_dict(),
            "activate": task.activate,
            "resumed_from": task.resumed_from,
        }
    return {
        "kind": "finetune",
        "model": str(task.model_path),
        "training": task.settings.training.to_dict(),
        "mix": asdict(task.settings.mix),
    }


def task_from_json(data: Any) -> Task:
    """The inverse of `task_to_json`; a journal row of an older version (a train task's config
    alone, a fine-tune's model alone) takes the defaults for the rest. `ValueError` if malformed."""
    if not isinstance(data, dict) or data.get("kind") not in ("train", "finetune"):
        raise ValueError("a task must be a JSON object of kind 'train' or 'finetune'")
    if data["kind"] == "finetune":
        settings = FineTuneSettings()
        if "training" in data:
            settings = FineTuneSettings(TrainConfig.from_dict(data["training"]), FineTuneMix(**data["mix"]))
        return FineTuneTask(Path(data["model"]), settings)
    return TrainTask(
        RunConfig.from_dict(data["config"]),
        source=data.get("source", "app"),
        name=data.get("name"),
        details=RunDetails.from_dict(data.get("details", {})),
        activate=data.get("activate", True),
        resumed_from=data.get("resumed_from"),
    )
