"""Work that outlives the page script: a daemon thread the page starts, stops and reads.

Streamlit reruns the page script on every interaction and abandons a script that is still
running, so minutes of training inside the page would die at the first click. A `BackgroundJob`
runs them in a daemon thread instead; the page keeps it in `st.session_state` and reads its
progress, which the thread writes under a lock. The thread never touches Streamlit.
"""

from __future__ import annotations

import threading

import streamlit as st


class BackgroundJob:
    """A daemon thread running `_work` (for subclasses), which should end soon after `stop`."""

    task = "the job"  # what it does, for its messages: "training", "fine-tuning"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._error: str | None = None
        self._thread = threading.Thread(target=self._guarded_work, name=f"digitlab {self.task}", daemon=True)

    def start(self) -> BackgroundJob:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the job to end after its current batch, keeping what it has done."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the job to end; True if it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _work(self) -> None:
        raise NotImplementedError

    def _guarded_work(self) -> None:
        try:
            self._work()
        except Exception as exc:  # a worker thread's crash would otherwise vanish without a word
            self._fail(f"{self.task} failed unexpectedly: {type(exc).__name__}: {exc}")

    def _fail(self, message: str) -> None:
        with self._lock:
            self._error = message


def stop_button(job: BackgroundJob | None, help: str) -> None:
    """The Stop button beside a page's start button: live only while `job` runs and is not stopping."""
    running = job is not None and job.running
    st.button(
        "Stop",
        icon=":material/stop:",
        disabled=not running or job.stopping,
        on_click=job.stop if running else None,
        help=help,
        width="stretch",
    )
