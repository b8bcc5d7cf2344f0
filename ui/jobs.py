"""What the pages show of a job (a training run or a fine-tune) in the worker pool.

Streamlit reruns the page script on every interaction and abandons a script that is still
running, so no run may live inside a page. The page submits it to `services.jobs.JobRunner`,
keeps the returned `Job` in `st.session_state` and redraws its progress from a fragment; the
run itself goes on in a worker process whatever the page does.
"""

from __future__ import annotations

import streamlit as st

from services.job_states import JobState
from services.jobs import Job, Progress

# How often a page redraws a job's progress. Each redraw costs the browser 0.1-0.15 s of CPU and
# the server a few hundredths; as workers give way (services.worker.give_way), that comes out of
# idle time: every 2 s instead, the worker beside the page trained no faster.
PROGRESS_SECONDS = 1.0
# How often the Train and Sweeps pages redraw their runs' charts: a fast run (under a second an
# epoch) still shows its epochs arrive, for a third of what redrawing them with the progress costs.
FIGURES_SECONDS = 3.0
# How often a queued job's page looks again. Its place in the queue changes only when a run ahead
# of it ends, and a class that presses Train at once fills the queue: each waiting page redrawn
# every second would cost the server and the browsers as much as a page that is training.
WAITING_SECONDS = 3.0


def progress_every(job: Job | None, polled: bool = False) -> float | None:
    """Seconds between a page's reruns to redraw a job's progress: none once it has ended (or before
    it exists), nor while it runs if the browser `polled` its progress itself (`ui.live`)."""
    if job is None or not job.running:
        return None
    if job.state is JobState.WAITING:
        return WAITING_SECONDS
    return None if polled else PROGRESS_SECONDS


def figures_every(job: Job | None, polled: bool = False) -> float | None:
    """Seconds between a page's reruns to redraw a job's charts: only while it runs (a queued job
    has none), and not if the browser `polled` them itself (`ui.live`)."""
    return FIGURES_SECONDS if job is not None and job.state is JobState.RUNNING and not polled else None


def started_since_drawn(drawn_every: float | None, progress: Progress) -> bool:
    """Whether a job whose page was drawn while it waited (`progress_every` was `drawn_every`) has
    started since: the page must then be drawn again in full, for its fragments to take a running
    job's pace."""
    return drawn_every == WAITING_SECONDS and progress.state is JobState.RUNNING


def stop_button(job: Job | None, help: str) -> None:
    """The button beside a page's start button: Cancel while the job waits, Stop while it runs."""
    running = job is not None and job.running
    waiting = running and job.state is JobState.WAITING
    st.button(
        "Cancel" if waiting else "Stop",
        icon=":material/cancel:" if waiting else ":material/stop:",
        disabled=not running or job.stopping,
        on_click=job.stop if running else None,
        help="take it out of the queue" if waiting else help,
        width="stretch",
    )


def waiting_note(progress: Progress) -> None:
    """Say where a queued job stands, so a full pool never looks like a frozen page."""
    ahead = progress.ahead
    runs = f"{ahead} run{'s' * (ahead != 1)} ahead" if ahead else "next in line"
    st.info(
        f"Waiting: {runs}. Every worker is busy with another run; this one starts as soon as "
        "one is free. Cancel takes it out of the queue.",
        icon=":material/hourglass_top:",
    )


def fraction_done(progress: Progress, epochs: int) -> float:
    """How far through all its epochs a job is, from its last events."""
    if progress.batch is not None:
        batch = progress.batch
        return (batch.epoch - 1 + batch.batch / batch.batches) / epochs
    return len(progress.epochs) / epochs
