"""The Train page's run as the browser polls it: the answer of `/api/live/<token>` for a real job.

A real runner with one worker trains an endless run; the route's handler is called as Starlette
calls it. (The browser tests see the page draw these answers.)
"""

import base64
import io
import json
import re
import time
import xml.etree.ElementTree as ET

import pytest
from PIL import Image
from starlette.requests import Request

from services.job_states import JobState
from services.jobs import JobRunner
from services.runs import RunStore
from services.tasks import TrainTask
from tests.support.jobs import ENDLESS, TIMEOUT, wait_for
from ui import live
from ui.jobs import FIGURES_SECONDS
from ui.layer_maps import sample


def ask(token: str, seq: int | None = None) -> tuple[int, dict]:
    """GET /api/live/<token>[?since=<seq>], through the route's own handler."""
    query = b"" if seq is None else f"since={seq}".encode()
    scope = {
        "type": "http",
        "method": "GET",
        "path_params": {"token": token},
        "headers": [],
        "query_string": query,
    }
    response = live.progress_answer(Request(scope))
    return response.status_code, json.loads(response.body)


@pytest.fixture
def runner(tmp_path):
    runner = JobRunner(1, cores=2, store=RunStore(tmp_path / "runs.sqlite", tmp_path / "models"))
    yield runner
    runner.shutdown()


def decoded(data_url: str, mime: str) -> bytes:
    prefix = f"data:{mime};base64,"
    assert data_url.startswith(prefix)
    return base64.b64decode(data_url[len(prefix) :])


def epochs_drawn(figures: dict) -> int:
    svg = ET.fromstring(decoded(figures["curves"], "image/svg+xml"))
    line = svg.find(".//{*}g[@data-series='loss']/{*}polyline")
    return len(line.get("points").split())


def test_a_running_job_is_answered_with_its_bar_and_numbers_and_an_ended_one_with_its_state(runner, mnist):
    job = runner.submit(TrainTask(ENDLESS, activate=False))
    try:
        token = live.watch(job, sample(mnist))
        assert live.watch(job, sample(mnist)) == token and re.fullmatch(r"[0-9a-f]{32}", token)  # one per job
        wait_for(lambda: len(job.progress().epochs) >= 1 and job.progress().batch is not None, "an epoch")
        status, answer = ask(token)
        assert status == 200 and answer["state"] == JobState.RUNNING
        assert re.fullmatch(r"Epoch \d+ of 1000: \d+% of the batches", answer["text"])
        assert 0 <= answer["within"] < 1
        labels = [label for label, _ in answer["metrics"]]
        assert labels == ["Epochs done", "Average loss", "Held-out accuracy", "Epoch time"]
        assert re.fullmatch(r"\d+ / 1000", answer["metrics"][0][1])

        job.stop()
        answer = ask(token)[1]
        assert answer == {"state": JobState.FINISHED} or answer["text"].endswith(" · stopping…")
        assert job.join(TIMEOUT)
        assert ask(token) == (200, {"state": JobState.FINISHED})  # the page reruns to show how it ended
    finally:
        job.stop()


def test_the_figures_come_when_the_page_has_older_ones_and_are_drawn_at_most_every_few_seconds(runner, mnist):
    job = runner.submit(TrainTask(ENDLESS, activate=False))
    try:
        token = live.watch(job, sample(mnist))
        wait_for(lambda: len(job.progress().epochs) >= 1 and job.progress().layer_map is not None, "an epoch")
        figures = ask(token)[1]["figures"]  # a page that has none (no `since`)
        drawn_at, first = time.monotonic(), figures["seq"]
        assert epochs_drawn(figures) >= 1
        grid = Image.open(io.BytesIO(decoded(figures["features"], "image/png")))
        layer_map = Image.open(io.BytesIO(decoded(figures["map"], "image/png")))
        assert (grid.width, layer_map.size) == (3 * (16 * 28 + 15), (1200, 700))  # 16 neurons, 28 px each, 3×
        assert figures["map_heading"] == "How hidden 1 (16) sorts 2,000 test digits"
        assert re.search(r"PC 1, \d+% of the spread", figures["map_caption"])
        assert "<strong>Inside the network</strong>" in figures["map_caption"]

        assert "figures" not in ask(token, first)[1]  # the page has these: nothing drawn again or sent
        assert ask(token, 0)[1]["figures"] == figures  # a page drawn afresh gets them again, not redrawn
        wait_for(lambda: "figures" in ask(token, first)[1], "newer figures")
        newer = ask(token, first)[1]["figures"]
        assert time.monotonic() - drawn_at >= FIGURES_SECONDS - 0.1
        assert newer["seq"] == first + 1 and epochs_drawn(newer) > epochs_drawn(figures)
    finally:
        job.stop()


def test_an_unknown_token_is_not_found():
    assert ask("not-a-token") == (404, {"state": "unknown"})
