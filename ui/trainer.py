"""Training in a background thread, so a run survives clicks, reruns and page switches.

The Train page starts a `Trainer` (a `BackgroundJob`), keeps it in `st.session_state`, and
redraws its progress every half second from a fragment. The worker thread appends the plain
events of `nn.training` to a log under a lock, and the page reads a consistent snapshot of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nn.config import RunConfig, TrainConfig
from nn.data import MNIST
from nn.errors import DigitLabError
from nn.experiment import TrainingRun
from nn.inside import first_layer_features
from nn.network import MLP
from nn.training import BatchProgress, EpochEnd, RunEnd
from services.runs import RunStore

from .background import BackgroundJob

FEATURES_SHOWN = 64  # first-layer neurons drawn live on the Train page


@dataclass(frozen=True)
class Progress:
    """Everything the Train page shows about a run, as of one moment."""

    config: TrainConfig
    epochs: tuple[EpochEnd, ...]
    batch: BatchProgress | None
    end: RunEnd | None
    saved_to: Path | None
    error: str | None
    running: bool
    features: np.ndarray | None = None  # first-layer weights as 28×28 images, as of the last epoch


class Trainer(BackgroundJob):
    """One training run in a daemon thread: start it, stop it (the model so far is kept), read it."""

    task = "training"

    def __init__(self, config: RunConfig, models_dir: Path, mnist: MNIST | None = None):
        self.config = config.validate()
        self.models_dir = models_dir
        self._mnist = mnist
        self._epochs: list[EpochEnd] = []
        self._batch: BatchProgress | None = None
        self._end: RunEnd | None = None
        self._saved_to: Path | None = None
        self._features: np.ndarray | None = None
        super().__init__()

    def progress(self) -> Progress:
        with self._lock:
            return Progress(
                config=self.config.training,
                epochs=tuple(self._epochs),
                batch=self._batch,
                end=self._end,
                saved_to=self._saved_to,
                error=self._error,
                running=self.running,
                features=self._features,
            )

    def _work(self) -> None:
        try:
            run = TrainingRun(self.config, self._mnist)
            self._snapshot(run.model)  # untrained: noise, until the first epoch ends
            for event in run.events(self._stop):
                self._record(event)
                if isinstance(event, EpochEnd):
                    self._snapshot(run.model)
            if should_keep(run.result):
                store = RunStore(models_dir=self.models_dir)
                saved = store.add(run.model, source="app").model_path
                store.set_active(saved)
                with self._lock:
                    self._saved_to = saved
        except DigitLabError as exc:
            self._fail(str(exc))

    def _record(self, event: BatchProgress | EpochEnd | RunEnd) -> None:
        with self._lock:
            if isinstance(event, BatchProgress):
                self._batch = event
            elif isinstance(event, EpochEnd):
                self._epochs.append(event)
                self._batch = None
            else:
                self._end = event

    def _snapshot(self, model: MLP) -> None:
        features = first_layer_features(model)[:FEATURES_SHOWN].copy()  # a copy: training goes on
        with self._lock:
            self._features = features


def should_keep(end: RunEnd | None) -> bool:
    """Completed and stopped runs are saved; a diverged run only if an epoch finished first.

    A stopped run keeps whatever it learned, even part of one epoch. A diverged run has been
    rolled back to its last completed epoch, which is worth keeping only if there was one.
    """
    if end is None:
        return False
    return end.status in ("completed", "stopped") or end.epochs_done > 0
