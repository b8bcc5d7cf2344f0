"""How often a page redraws a job, as the job moves from the queue to a worker and to its end,
and how the pages tell the workers to make room for them.

A real runner with one worker: the first run keeps it busy, so the second waits in the queue.
"""

from services.job_states import JobState
from services.jobs import JobRunner
from services.runs import RunStore
from services.tasks import TrainTask
from tests.support.app_driver import open_page
from tests.support.jobs import ENDLESS, TIMEOUT, wait_for
from ui import cache
from ui.jobs import (
    FIGURES_SECONDS,
    PROGRESS_SECONDS,
    WAITING_SECONDS,
    figures_every,
    progress_every,
    started_since_drawn,
)


def test_a_queued_job_is_looked_at_less_often_and_its_page_redrawn_once_it_starts(tmp_path):
    runner = JobRunner(1, cores=2, store=RunStore(tmp_path / "runs.sqlite", tmp_path / "models"))
    try:
        busy = runner.submit(TrainTask(ENDLESS, activate=False))
        queued = runner.submit(TrainTask(ENDLESS, activate=False))
        wait_for(lambda: busy.progress().state == JobState.RUNNING, "the first run to start")
        assert (progress_every(busy), figures_every(busy)) == (PROGRESS_SECONDS, FIGURES_SECONDS)
        # Queued: its place is checked every few seconds, and it has no charts to redraw.
        assert (progress_every(queued), figures_every(queued)) == (WAITING_SECONDS, None)
        # Where the browser polls a running job's progress and figures itself (ui.live), nothing
        # reruns for it.
        assert progress_every(busy, polled=True) is None and figures_every(busy, polled=True) is None
        assert progress_every(queued, polled=True) == WAITING_SECONDS
        drawn_every = progress_every(queued)
        assert not started_since_drawn(drawn_every, queued.progress())

        busy.stop()
        wait_for(lambda: queued.progress().state == JobState.RUNNING, "the queued run to start")
        # A page drawn while it waited now draws itself again in full, at a running job's pace;
        # one drawn while it ran has nothing to catch up with.
        assert started_since_drawn(drawn_every, queued.progress())
        assert not started_since_drawn(PROGRESS_SECONDS, queued.progress())
        assert (progress_every(queued), figures_every(queued)) == (PROGRESS_SECONDS, FIGURES_SECONDS)
        queued.stop()
        assert queued.join(TIMEOUT)
        assert progress_every(queued) is None and figures_every(queued) is None
        assert not started_since_drawn(drawn_every, queued.progress())  # its end redraws the page anyway
    finally:
        runner.shutdown()


def test_every_page_the_app_serves_is_noted_so_that_the_workers_make_room_for_it(models_dir):
    served = cache.pages_served()
    before = served.last
    open_page("app_pages/draw.py")
    assert served.last > before and served.recent() and served.in_flight == 0
    # The runner the pages hand their jobs to reads the clock the pages note, so it makes room.
    assert cache.runner().pages is served
