"""What went wrong (or could go better) in a run, in plain words, with the setting to change.

Each rule reads the run's per-epoch history — its `EpochEnd`s, live or from the model's
record — and, for dead ReLUs, the network itself. The rules are deliberately few and
blunt; each names one setting, because a learner acts on "lower the learning rate", not on a
loss curve. A run that went fine gets no hint at all.

| problem         | seen as                                                  | setting to change      |
| --------------- | -------------------------------------------------------- | ---------------------- |
| diverged        | the run ended as "diverged", or a loss is NaN or inf     | learning rate: lower   |
| stuck           | training accuracy near chance (10 %) at the end          | learning rate: higher; |
|                 | … with many dead ReLUs (units that never fire)           | learning rate: lower   |
| overfitting     | training accuracy near 100 % while held-out accuracy falls | epochs: fewer        |
| large gap       | training accuracy far above held-out accuracy            | weight decay, augment  |
| still improving | the loss still falling, held-out accuracy at its best    | epochs: more           |
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nn.core.events import EpochEnd
from nn.core.network import MLP

from .inside import activations

NEAR_CHANCE = 0.2  # training accuracy below this at the end: ten classes give 0.1 by guessing
DEAD_SAMPLE = 1000  # training images on which a unit must stay silent to count as dead
MANY_DEAD = 0.5  # share of dead hidden units that by itself explains a stuck run
NEAR_PERFECT = 0.99  # training accuracy that counts as "near 100 %"
OVERFIT_FALL = 0.002  # held-out accuracy this far (0.2 points) below its best …
OVERFIT_EPOCHS = 2  # … for at least this many epochs after the best
LARGE_GAP = 0.05  # training minus held-out accuracy (5 points)
STILL_IMPROVING = 0.01  # relative fall of the loss over the last epoch


@dataclass(frozen=True)
class Hint:
    problem: str  # one of the table's problems
    message: str  # what happened, in numbers
    setting: str  # the setting to change
    advice: str  # how to change it


def diagnose(
    history: Sequence[EpochEnd],
    *,
    status: str | None = None,
    lr: float | None = None,
    dead_share: float | None = None,
) -> list[Hint]:
    """Hints for a run from its history (oldest epoch first), how it ended, its learning rate and
    the share of its hidden units that never fire (see `dead_unit_share`).
    """
    epochs = list(history)
    losses = [e.loss for e in epochs]
    if status == "diverged" or not all(math.isfinite(loss) for loss in losses):
        return [_diverged(lr)]
    if not epochs:
        return []
    train = [e.train_accuracy for e in epochs]
    if train[-1] < NEAR_CHANCE:
        return [_stuck(train[-1], lr, dead_share)]
    held_out = _held_out(epochs)
    hints = []
    if held_out is not None:
        hints += _overfitting(epochs, train, held_out) + _large_gap(train[-1], held_out[-1])
    return hints + _still_improving(losses, held_out)


def dead_unit_share(model: MLP, images: np.ndarray) -> float:
    """The share of all hidden units that output 0 for every one of `images`: dead ReLUs.

    A unit whose z is negative for every input gets no gradient (ReLU's slope is 0 there), so
    once dead it stays dead: its weights can no longer learn.
    """
    hidden = activations(model, images)[:-1]
    silent = sum(int(np.count_nonzero((a > 0).sum(axis=0) == 0)) for a in hidden)
    return silent / sum(a.shape[1] for a in hidden)


def run_hints(
    model: MLP,
    train_images: np.ndarray,
    *,
    history: Sequence[EpochEnd] | None = None,
    status: str | None = None,
) -> list[Hint]:
    """Hints for a trained model; history, status and learning rate default to its record's.

    Dead units are counted on the first `DEAD_SAMPLE` of `train_images`.
    """
    record = model.record
    return diagnose(
        record.history if history is None else history,
        status=record.status if status is None else status,
        lr=record.training.lr if record.training is not None else None,
        dead_share=dead_unit_share(model, train_images[:DEAD_SAMPLE]),
    )


def _held_out(epochs: list[EpochEnd]) -> list[float] | None:
    """Validation accuracy if the run held images out, else test accuracy, else None."""
    for key in ("val_accuracy", "test_accuracy"):
        values = [getattr(e, key) for e in epochs]
        if all(v is not None for v in values):
            return values
    return None


def _smaller(lr: float | None) -> str:
    return f"try {lr / 10:g} instead of {lr:g}" if lr else "try a tenth of it"


def _diverged(lr: float | None) -> Hint:
    return Hint(
        "diverged",
        "The loss exploded: the steps were so large that each one overshot the valley it was "
        "descending, and the errors grew instead of shrinking.",
        "learning rate",
        f"Lower it: {_smaller(lr)}.",
    )


def _stuck(accuracy: float, lr: float | None, dead_share: float | None) -> Hint:
    if dead_share is not None and dead_share >= MANY_DEAD:
        return Hint(
            "stuck",
            f"Training accuracy is {accuracy:.0%}, near the 10 % of guessing, and {dead_share:.0%} of the "
            f"hidden units never fire on {DEAD_SAMPLE:,} training images: they are dead ReLUs, which "
            "get no gradient and so can never learn again.",
            "learning rate",
            f"Lower it ({_smaller(lr)}) so that early steps do not knock units dead, and use He "
            "initialisation.",
        )
    dead = f" ({dead_share:.0%} of hidden units are dead)" if dead_share is not None else ""
    larger = f"try {lr * 10:g} instead of {lr:g}" if lr else "try ten times more"
    return Hint(
        "stuck",
        f"Training accuracy is {accuracy:.0%}, near the 10 % of guessing{dead}: the weights have "
        "hardly moved from where they started.",
        "learning rate",
        f"Raise it: {larger}.",
    )


def _overfitting(epochs: list[EpochEnd], train: list[float], held_out: list[float]) -> list[Hint]:
    best = int(np.argmax(held_out))
    fell = held_out[-1] <= held_out[best] - OVERFIT_FALL
    if not (train[-1] >= NEAR_PERFECT and fell and len(held_out) - 1 - best >= OVERFIT_EPOCHS):
        return []
    epoch = epochs[best].epoch
    return [
        Hint(
            "overfitting",
            f"It is overfitting since epoch {epoch}: training accuracy reached {train[-1]:.1%} while "
            f"held-out accuracy fell from {held_out[best]:.2%} to {held_out[-1]:.2%}. The network "
            "is memorising its training images rather than learning digits.",
            "epochs",
            f"Stop at {epoch} epochs, or add weight decay or augmentation so that memorising is harder.",
        )
    ]


def _large_gap(train: float, held_out: float) -> list[Hint]:
    if train - held_out < LARGE_GAP:
        return []
    return [
        Hint(
            "large gap",
            f"Training accuracy ({train:.1%}) is {100 * (train - held_out):.1f} points above held-out "
            f"accuracy ({held_out:.1%}): what it learned does not carry over to new digits.",
            "weight decay or augmentation",
            "Add weight decay (e.g. 0.0005) or augmentation (affine), or train on more images.",
        )
    ]


def _still_improving(losses: list[float], held_out: list[float] | None) -> list[Hint]:
    if len(losses) < 2 or losses[-1] > (1 - STILL_IMPROVING) * losses[-2]:
        return []
    if held_out is not None and held_out[-1] < max(held_out):
        return []
    best = ", and held-out accuracy is at its best" if held_out is not None else ""
    return [
        Hint(
            "still improving",
            f"It was still improving at the end: the loss fell {1 - losses[-1] / losses[-2]:.0%} in the "
            f"last epoch{best}.",
            "epochs",
            "Train for more epochs.",
        )
    ]
