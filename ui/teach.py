"""Teaching the network your handwriting: label a drawing, keep it, fine-tune on your digits.

`add_to_my_digits` is the small block the Draw page shows under its answer; the rest serves
the "Your handwriting" page. The digits themselves live in `nn.user_digits`, the fine-tuning
is `nn.finetune`, and the fine-tuned model is recorded as a run like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import streamlit as st

from nn.finetune import FineTune, FineTuneResult, FineTuneSettings
from nn.network import MLP
from nn.runstore import Run, RunStore
from nn.training import BatchProgress, EpochEnd
from nn.user_digits import UserDigits

LAST_ADDED = "teach_last_added"  # (digit id, label) of the drawing just added, to say so once


def add_to_my_digits(seen: np.ndarray, predicted: int) -> None:
    """Under a prediction: say which digit it really is and keep it for fine-tuning."""
    left, right = st.columns([2, 3], vertical_alignment="bottom")
    label = left.selectbox(
        "It is really a…",
        list(range(10)),
        index=predicted,
        key="teach_label",
        help="right or wrong, your labelled drawings teach the network your handwriting",
    )
    if right.button("Add to my digits", icon=":material/add_circle:", key="teach_add"):
        digit = UserDigits().add(seen, label)
        st.session_state[LAST_ADDED] = (digit.id, label)
    added = st.session_state.pop(LAST_ADDED, None)
    if added is not None:
        count = len(UserDigits().all())
        st.success(
            f"Added as a {added[1]}: you have {count} digit{'s' * (count != 1)}. "
            "Fine-tune on them on the *Your handwriting* page.",
            icon=":material/check_circle:",
        )


def finetune(
    model: MLP, settings: FineTuneSettings, model_path: Path, on_progress: Callable[[float, str], None]
) -> tuple[FineTuneResult, Run]:
    """Fine-tune a copy of `model` on the user's digits, record it as a run, return both.

    `on_progress(fraction, text)` is called as batches and epochs finish, to drive a progress bar.
    """
    tuning = FineTune(model, UserDigits().split(), settings)
    for event in tuning.events():
        if isinstance(event, BatchProgress):
            done = (event.epoch - 1 + event.batch / event.batches) / event.epochs
            on_progress(done, f"epoch {event.epoch} of {event.epochs}")
        elif isinstance(event, EpochEnd):
            on_progress(event.epoch / event.epochs, f"epoch {event.epoch} of {event.epochs} done")
    store = RunStore()
    base = store.find(model_path)  # a recorded run is known by its name, a shipped model by its file's
    name = f"{base.name if base else model_path.stem} + my digits"
    run = store.add(tuning.model, source="finetune", name=name, details=tuning.details())
    return tuning.result, run


def outcome_lines(result: FineTuneResult) -> list[tuple[str, str, str | None]]:
    """(label, value after, change) for the before/after metrics."""
    lines = [
        ("MNIST test accuracy", f"{result.mnist_after:.2%}", f"{result.mnist_change_points:+.2f} points")
    ]
    if result.user_after is not None:
        change = f"{result.user_change_points:+.0f} points"
        lines.append(("Your held-out digits", f"{result.user_after:.0%}", change))
    return lines


def describe_outcome(result: FineTuneResult, run: Run) -> str:
    held_out = (
        f"{result.user_held_out} of your digits were held out to measure it"
        if result.user_held_out
        else "none of your digits could be held out yet (add a second example of a digit)"
    )
    return (
        f"Fine-tuned on {result.user_train} of your digits (each shown {result.repeats}× per epoch, "
        f"randomly distorted) mixed with MNIST; {held_out}. Saved as the run “{run.name}”."
    )
