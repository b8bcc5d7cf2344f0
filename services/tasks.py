"""What a job does: train a network by a `RunConfig`, or fine-tune a model on the user's digits.

A task is made in the server, where a page or a command line submits it to a runner, and is
carried whole to the worker that does it (over a pipe, or to a Dask worker): so it is small,
frozen, and checked where it is made, before it waits for a worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nn.core.config import RunConfig

from .finetune import FineTuneSettings
from .runs import RunDetails


@dataclass(frozen=True)
class TrainTask:
    """Build a network from `config.model`, train it by `config.training`; save and record it as a
    run of `source`.

    `name` and `details` go to the run's record (None: the automatic name); `activate` makes the
    saved model the active one, as a run started on the Train page should be, while the runs of
    a sweep wait for the person to choose among them.
    """

    config: RunConfig
    source: str = "app"
    name: str | None = None
    details: RunDetails = field(default_factory=RunDetails)
    activate: bool = True

    def __post_init__(self) -> None:
        self.config.validate()  # refused here, in the server, before it waits for a worker


@dataclass(frozen=True)
class FineTuneTask:
    """Fine-tune the model at `model_path` on the user's digits; record it as a run."""

    model_path: Path
    settings: FineTuneSettings


Task = TrainTask | FineTuneTask
