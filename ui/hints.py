"""Hints after a run, as the Train page shows them: `nn.explain.hints.run_hints`' diagnosis in plain boxes."""

from __future__ import annotations

import streamlit as st

from nn.explain.hints import Hint


def show_hints(hints: list[Hint]) -> None:
    """One box per hint, naming the setting to change; nothing at all when there is no hint."""
    for hint in hints:
        st.warning(
            f"**{hint.problem.capitalize()}.** {hint.message}  \n"
            f"**Setting to change: {hint.setting}.** {hint.advice}",
            icon=":material/lightbulb:",
        )
