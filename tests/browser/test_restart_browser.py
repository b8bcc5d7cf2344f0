"""A server killed mid-run and started again: the run it lost is shown, and resumed, in a browser."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from nn.core.checkpoint import read_progress
from nn.core.persistence import load_model
from services.journal import Journal
from tests.support.browser import EXPECT_TIMEOUT_MS, set_number
from tests.support.server import running_app, server_pid

pytestmark = pytest.mark.browser

SAVED = re.compile(r"Saved as .*run-.*\.npz")
EPOCHS = 6


def epochs_checkpointed(journal: Journal) -> int:
    """The most epochs any job of `journal` has in its checkpoint so far (replaced atomically)."""
    return max(
        (read_progress(path).epochs_done for path in journal.checkpoint(1).parent.glob("job-*.npz")),
        default=0,
    )


def test_a_run_lost_to_a_killed_server_is_offered_after_the_restart_and_resumed(
    browser: Browser, tmp_path: Path
) -> None:
    models, database = tmp_path / "models", tmp_path / "runs.sqlite"
    env = {"DIGITLAB_RUNS_DB": str(database), "DIGITLAB_WORKERS": "1"}
    journal = Journal(database)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(EXPECT_TIMEOUT_MS)
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)

    with running_app(models, tmp_path / "first.log", env) as url:
        page.goto(url)
        expect(page.get_by_role("heading", name="Train a network")).to_be_visible()
        set_number(page, "Epochs", EPOCHS)
        set_number(page, "Hidden layers", 1)
        set_number(page, "Layer 1 width", 16)
        set_number(page, "Training images", 3000)
        set_number(page, "Batch size", 4)
        page.get_by_role("button", name="Train", exact=True).click()
        deadline = time.monotonic() + 120
        while epochs_checkpointed(journal) < 2:
            assert time.monotonic() < deadline, "no epoch was checkpointed in two minutes"
            time.sleep(0.2)
        os.kill(server_pid(url), signal.SIGKILL)

    with running_app(models, tmp_path / "second.log", env) as url:
        page.goto(url)
        offer = page.get_by_text(re.compile(r"interrupted at epoch \d of 6 when the server stopped"))
        expect(offer).to_be_visible()
        reached = int(re.search(r"epoch (\d) of", offer.inner_text()).group(1))
        assert reached >= 2
        page.get_by_role("button", name="Resume").click()
        expect(page.get_by_text(SAVED)).to_be_visible(timeout=240_000)
        expect(offer).to_have_count(0)
        name = re.search(r"run-\S*\.npz", page.get_by_text(SAVED).inner_text()).group(0)
        model = load_model(models / "runs" / name)
        assert model.record.epochs_done == EPOCHS and len(model.record.history) == EPOCHS
        assert [e.epoch for e in model.record.history] == list(range(1, EPOCHS + 1))
    context.close()
    assert "Traceback" not in (tmp_path / "second.log").read_text(errors="replace")
