"""Teaching the network your handwriting: label a drawing, keep it, fine-tune on your digits.

`add_to_my_digits` is the small block the Draw page shows under its answer; the rest serves
the "Your handwriting" page. The digits themselves live in `services.user_digits`, the fine-tuning
is `services.finetune`, run in a worker process by `services.jobs`, and the fine-tuned model is recorded
as a run like any other.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from nn.core.events import TrainingEnd
from nn.core.persistence import reason
from nn.core.record import FineTuneRecord
from services.runs import Run
from services.user_digits import UserDigits

from . import runs

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
        digits = UserDigits()
        try:
            digit = digits.add(seen, label)
        except OSError as exc:
            st.error(
                f"Your digit could not be kept in {digits.directory}: {reason(exc)}.",
                icon=":material/error:",
            )
            return
        st.session_state[LAST_ADDED] = (digit.id, label)
    added = st.session_state.pop(LAST_ADDED, None)
    if added is not None:
        count = len(UserDigits().all())
        st.success(
            f"Added as a {added[1]}: you have {count} digit{'s' * (count != 1)}. "
            "Fine-tune on them on the *Your handwriting* page.",
            icon=":material/check_circle:",
        )


def show_outcome(result: FineTuneRecord, end: TrainingEnd, run: Run) -> None:
    """Before and after, what was done, and the button that makes the fine-tuned model active."""
    for column, (label, value, change) in zip(st.columns(2), outcome_lines(result)):
        column.metric(label, value, change)
    st.caption(describe_outcome(result, run))
    if end.status == "stopped":
        st.warning(
            "Stopped before the end: this is what it had learned by then.", icon=":material/stop_circle:"
        )
    if not result.kept_mnist:
        st.warning(
            "MNIST accuracy fell by more than 0.3 points: try fewer epochs or more MNIST images.",
            icon=":material/warning:",
        )
    st.button(
        "Use the fine-tuned model", icon=":material/check_circle:", on_click=runs.make_active, args=(run,)
    )
    kind, message = st.session_state.pop(runs.NOTICE, (None, None))
    if kind:
        (st.success if kind == "success" else st.error)(message)


def outcome_lines(result: FineTuneRecord) -> list[tuple[str, str, str | None]]:
    """(label, value after, change) for the before/after metrics."""
    lines = [
        ("MNIST test accuracy", f"{result.mnist_after:.2%}", f"{result.mnist_change_points:+.2f} points")
    ]
    if result.user_after is not None:
        change = f"{result.user_change_points:+.0f} points"
        lines.append(("Your held-out digits", f"{result.user_after:.0%}", change))
    return lines


def describe_outcome(result: FineTuneRecord, run: Run) -> str:
    held_out = (
        f"{result.user_held_out} of your digits were held out to measure it"
        if result.user_held_out
        else "none of your digits could be held out yet (add a second example of a digit)"
    )
    return (
        f"Fine-tuned on {result.user_train} of your digits (each shown {result.repeats}× per epoch, "
        f"randomly distorted) mixed with MNIST; {held_out}. Saved as the run “{run.name}”."
    )
