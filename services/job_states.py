"""A job's states: one name for each, shared by the runners, the journal and the pages.

    waiting → running → finished | failed
    waiting → cancelled
    waiting | running → interrupted   (its server stopped before it ended)
    interrupted | failed → resumed    (another job goes on with its training, from its checkpoint)
    interrupted | failed → discarded  (its person let it go, and its checkpoint with it)

A `StrEnum`, so the journal stores a state as its plain word and reads it back as the member.
"""

from __future__ import annotations

import enum


class JobState(enum.StrEnum):
    WAITING = "waiting"  # in the queue, for a worker
    RUNNING = "running"
    FINISHED = "finished"  # ended as its training ended (completed, stopped or diverged)
    FAILED = "failed"  # an error, or its worker died
    CANCELLED = "cancelled"  # stopped while it waited
    INTERRUPTED = "interrupted"  # its server stopped while it waited or ran
    RESUMED = "resumed"  # went on as another job
    DISCARDED = "discarded"

    @property
    def unfinished(self) -> bool:
        """Waiting or running: a live server is responsible for it."""
        return self in (JobState.WAITING, JobState.RUNNING)
