"""What a training run reports as it goes: small, plain, immutable events.

`nn.core.training.train` yields them; the command line prints them, the app charts them, the tests
assert on them. An `EpochEnd` is also what a model's record keeps for each epoch it trained
(`nn.core.record.ModelRecord.history`), so the chart of a saved run is the chart seen live.
"""

from __future__ import annotations

from dataclasses import dataclass

STATUSES = ("completed", "stopped", "diverged")  # how a run can end


@dataclass(frozen=True)
class BatchProgress:
    """Part-way through an epoch: `batch` of `batches` done, mean loss so far."""

    epoch: int
    epochs: int
    batch: int
    batches: int
    loss: float


@dataclass(frozen=True)
class EpochEnd:
    """One epoch done. Accuracies on sets that were not given are None."""

    epoch: int
    epochs: int
    loss: float
    train_accuracy: float
    val_accuracy: float | None
    test_accuracy: float | None
    seconds: float
    lr: float

    @property
    def held_out_accuracy(self) -> float | None:
        """Accuracy on images the run never trains on: validation if it held some out, else test."""
        return self.val_accuracy if self.val_accuracy is not None else self.test_accuracy


@dataclass(frozen=True)
class TrainingEnd:
    """The run is over: `status` is one of STATUSES ("completed", "stopped" or "diverged")."""

    status: str
    epochs_done: int
    seconds: float
    message: str


Event = BatchProgress | EpochEnd | TrainingEnd
