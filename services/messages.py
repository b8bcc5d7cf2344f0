"""What a runner and the workers that do its jobs say to each other: one small frozen dataclass
per kind of message, the same over a local worker's pipe and from a Dask worker.

A worker reports on a job as `(job id, Report)`; its runner turns each report into the job's
next `services.jobs.Progress` (`Progress.after`), so what a page reads does not depend on where
the job ran. A local worker is told what to do with `Order`s; a Dask worker gets its task from
the scheduler, and Stop through a `distributed.Event`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nn.core.events import Event
from nn.core.record import FineTuneRecord
from nn.explain.projection import LayerMap

from .runs import Run
from .tasks import Task

# -- worker → runner ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Started:
    """The job has started on `worker` (a Dask worker's address, or a local worker's process id)."""

    worker: str


@dataclass(frozen=True)
class Computing:
    """Where the job's training computes, in words (`Engine.device`): "TensorFlow 2.21.0 on GPU 0: …"."""

    device: str


@dataclass(frozen=True)
class ThreadsUsed:
    """The BLAS threads the worker now computes with: the job's truth, whatever it was asked."""

    count: int


@dataclass(frozen=True)
class Trained:
    """One event of the engine's training: a batch, an epoch or the end."""

    event: Event


@dataclass(frozen=True)
class Features:
    """The first-layer weights of the neurons the Train page draws, as 28×28 images."""

    images: np.ndarray


@dataclass(frozen=True)
class Mapped:
    """The last hidden layer's map of the fixed test sample."""

    layer_map: LayerMap


@dataclass(frozen=True)
class Saved:
    """The trained model is saved and recorded as `run`."""

    run: Run


@dataclass(frozen=True)
class Unsaved:
    """No disk took the trained model: here it is as an .npz file, for the page to offer."""

    model: bytes


@dataclass(frozen=True)
class FineTuned:
    """A fine-tune's account, as its model's record keeps it."""

    account: FineTuneRecord


@dataclass(frozen=True)
class Failed:
    """The job failed; `message` says why, in words."""

    message: str


@dataclass(frozen=True)
class Done:
    """Nothing more will come about this job."""


Report = Started | ThreadsUsed | Trained | Features | Mapped | Saved | Unsaved | FineTuned | Failed | Done


# -- runner → local worker ------------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """Do `task` as job `job`."""

    job: int
    task: Task


@dataclass(frozen=True)
class Stop:
    """End the current job after its current batch, keeping what it learned."""


@dataclass(frozen=True)
class UseThreads:
    """Compute with `count` BLAS threads from the next batch on."""

    count: int


Order = Start | Stop | UseThreads
