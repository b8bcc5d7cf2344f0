"""Runs cut short by a server that stopped or a worker that died, offered back to the person.

The app has no accounts and a browser session does not outlive a restart, so every interrupted
run on this server is shown to whoever opens the Train page or Compare runs: how far it got,
**Resume** (from its last checkpoint, in this session's place for a run) and **Discard**.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from services.job_states import JobState
from services.journal import Interrupted

from . import cache, session

NOTICE = "interrupted_notice"


def label(item: Interrupted) -> str:
    """e.g. "784-128-64-10 · momentum lr 0.07", or the name it was given."""
    config = item.task.config
    if item.task.name:
        return item.task.name
    return f"{config.model.architecture} · {config.training.optimizer} lr {config.training.lr:g}"


def what_happened(item: Interrupted) -> str:
    """e.g. "interrupted at epoch 23 of 200 when the server stopped"."""
    when = (
        "when the server stopped"
        if item.job.state is JobState.INTERRUPTED
        else "when its worker process died"
    )
    if item.why_not is not None:
        return f"interrupted {when}; it cannot be resumed: {item.why_not}"
    if item.epochs_done is None:
        return f"interrupted {when}, with no checkpoint kept: Resume starts it again from the beginning"
    if item.epochs_done == 0:
        return f"interrupted before its first epoch ended {when}"
    return f"interrupted at epoch {item.epochs_done} of {item.epochs} {when}"


def interrupted_runs() -> list[Interrupted]:
    """This server's interrupted runs (none while its runner cannot be had: the page says why)."""
    if session.job_runner_problem() is not None:
        return []
    return cache.runner().journal.interrupted()


def show(where: str) -> None:
    """Every interrupted run with Resume and Discard; nothing at all when there is none."""
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        st.success(notice, icon=":material/check_circle:")
    items = interrupted_runs()
    if not items:
        return
    st.subheader("Interrupted runs")
    busy = (current := session.trainer()) is not None and current.running
    for item in items:
        text, resume, discard = st.columns([6, 1, 1], vertical_alignment="center")
        text.markdown(f"**{label(item)}** — {what_happened(item)}.")
        resume.button(
            "Resume",
            key=f"{where}_resume_{item.job.id}",
            icon=":material/play_arrow:",
            disabled=item.why_not is not None or busy,
            help="finish this session's run first" if busy else "go on from its last completed epoch",
            on_click=_resume,
            args=(item,),
        )
        discard.button(
            "Discard",
            key=f"{where}_discard_{item.job.id}",
            icon=":material/delete:",
            help="let it go, and its checkpoint with it",
            on_click=_discard,
            args=(item,),
        )


def _resume(item: Interrupted) -> None:
    session.submit_run(replace(item.task, resumed_from=item.job.id))
    st.session_state[NOTICE] = f"Resuming {label(item)}: its progress is on the Train page."


def _discard(item: Interrupted) -> None:
    cache.runner().journal.discard(item.job.id)
    st.session_state[NOTICE] = f"Discarded {label(item)}."
