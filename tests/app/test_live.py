"""The Train page's progress as the browser polls it: the answer of `/api/live/<token>` for a real job.

A real runner with one worker trains an endless run; the route's handler is called as Starlette
calls it. (The browser tests see the page draw these answers.)
"""

import asyncio
import json
import re

from starlette.requests import Request

from services.jobs import FINISHED, RUNNING, JobRunner, TrainTask
from services.runs import RunStore
from tests.services.test_jobs import ENDLESS, TIMEOUT, wait_for
from ui import live


def ask(token: str) -> tuple[int, dict]:
    """GET /api/live/<token>, through the route's own handler."""
    request = Request({"type": "http", "method": "GET", "path_params": {"token": token}, "headers": []})
    response = asyncio.run(live.progress_answer(request))
    return response.status_code, json.loads(response.body)


def test_a_running_job_is_answered_with_its_bar_and_numbers_and_an_ended_one_with_its_state(tmp_path):
    runner = JobRunner(1, cores=2, store=RunStore(tmp_path / "runs.sqlite", tmp_path / "models"))
    try:
        job = runner.submit(TrainTask(ENDLESS, activate=False))
        token = live.token(job)
        assert live.token(job) == token and re.fullmatch(r"[0-9a-f]{32}", token)  # one per job, unguessable
        wait_for(lambda: len(job.progress().epochs) >= 1 and job.progress().batch is not None, "an epoch")
        status, answer = ask(token)
        assert status == 200 and answer["state"] == RUNNING
        assert re.fullmatch(r"Epoch \d+ of 1000: \d+% of the batches", answer["text"])
        assert 0 <= answer["within"] < 1
        labels = [label for label, _ in answer["metrics"]]
        assert labels == ["Epochs done", "Average loss", "Held-out accuracy", "Epoch time"]
        assert re.fullmatch(r"\d+ / 1000", answer["metrics"][0][1])

        job.stop()
        answer = ask(token)[1]
        assert answer == {"state": FINISHED} or answer["text"].endswith(" · stopping…")
        assert job.join(TIMEOUT)
        assert ask(token) == (200, {"state": FINISHED})  # the page reruns to show how it ended
    finally:
        runner.shutdown()


def test_an_unknown_token_is_not_found():
    assert ask("not-a-token") == (404, {"state": "unknown"})
