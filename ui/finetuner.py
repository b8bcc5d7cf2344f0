"""Fine-tuning in a background thread, like training, so leaving the page does not abandon it.

A fine-tune takes a minute or two. Run inside the page script, it died with the script at the
first click on another page, and the minutes were lost. A `FineTuner` (a `BackgroundJob`)
records the fine-tuned model as a run when it ends, finished or stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nn.errors import DigitLabError
from nn.network import MLP
from nn.training import BatchProgress, EpochEnd, Event
from services.finetune import FineTune, FineTuneResult, FineTuneSettings
from services.runs import Run, RunStore
from services.user_digits import UserDigits

from .background import BackgroundJob


@dataclass(frozen=True)
class FineTuneProgress:
    """What the page shows of a fine-tune, as of one moment."""

    done: float  # fraction of all its batches
    text: str
    outcome: tuple[FineTuneResult, Run] | None  # once recorded as a run
    error: str | None
    running: bool


class FineTuner(BackgroundJob):
    """Fine-tune a copy of `model` (saved at `model_path`) on the user's digits, in a daemon thread."""

    task = "fine-tuning"

    def __init__(self, model: MLP, model_path: Path, settings: FineTuneSettings):
        self.model, self.model_path, self.settings = model, model_path, settings
        self._done, self._text = 0.0, "preparing your digits…"
        self._outcome: tuple[FineTuneResult, Run] | None = None
        super().__init__()

    def progress(self) -> FineTuneProgress:
        with self._lock:
            return FineTuneProgress(self._done, self._text, self._outcome, self._error, self.running)

    def _work(self) -> None:
        try:
            tuning = FineTune(self.model, UserDigits().split(), self.settings)
            for event in tuning.events(self._stop):
                self._note(event)
            store = RunStore()
            base = store.find(self.model_path)  # a recorded run goes by its name, a shipped model by file
            name = f"{base.name if base else self.model_path.stem} + my digits"
            run = store.add(tuning.model, source="finetune", name=name, details=tuning.details())
            with self._lock:
                self._outcome = (tuning.result, run)
        except (DigitLabError, ValueError) as exc:
            self._fail(str(exc))

    def _note(self, event: Event) -> None:
        if isinstance(event, BatchProgress):
            done = (event.epoch - 1 + event.batch / event.batches) / event.epochs
            text = f"epoch {event.epoch} of {event.epochs}"
        elif isinstance(event, EpochEnd):
            done, text = event.epoch / event.epochs, f"epoch {event.epoch} of {event.epochs} done"
        else:
            done, text = 1.0, "saving the fine-tuned model as a run…"
        with self._lock:
            self._done, self._text = done, text
