"""A sweep watched in Chromium: two runs set up on the Sweeps page, live until both finish."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import set_number

pytestmark = pytest.mark.browser
SWEEP_TIMEOUT_S = 300


def test_a_two_run_sweep_is_watched_live_until_both_finish(page: Page, app_url: str):
    page.goto(f"{app_url}/sweeps")
    expect(page.get_by_role("heading", name="Sweeps")).to_be_visible()
    set_number(page, "Epochs", 4)
    set_number(page, "Hidden layers", 1)
    set_number(page, "Layer 1 width", 16)
    set_number(page, "Training images", 10_000)
    set_number(page, "Batch size", 1)  # seconds per epoch even on a quiet machine: the live table redraws
    page.get_by_test_id("stSidebar").get_by_text("More settings").first.click()
    set_number(page, "Validation images", 500)
    main = page.get_by_test_id("stMain")
    values = main.get_by_test_id("stTextInputField").and_(main.get_by_label("Learning rate", exact=True))
    values.fill("0.002, 0.005")
    values.press("Enter")
    expect(main.get_by_text("2 runs on this machine")).to_be_visible()
    main.get_by_role("button", name="Start the sweep").click()

    table = main.get_by_test_id("stTable")
    expect(table).to_be_visible()
    statuses_seen, tables_seen = set(), set()
    results = main.get_by_role("heading", name="Results")
    deadline = time.monotonic() + SWEEP_TIMEOUT_S
    while not results.is_visible():
        assert time.monotonic() < deadline, f"the sweep did not finish; statuses seen: {statuses_seen}"
        if table.count():
            text = table.first.inner_text()
            tables_seen.add(text)
            statuses_seen |= set(re.findall(r"running · epoch \d/4|waiting|finished", text))
        page.wait_for_timeout(100)  # polling the live page, not standing in for a check
    assert any(s.startswith("running · epoch") for s in statuses_seen), statuses_seen
    assert len(tables_seen) >= 2, tables_seen  # it was redrawn while the runs went on

    expect(main.get_by_test_id("stMetricLabel").filter(has_text="Its test accuracy")).to_be_visible()
    expect(main.get_by_text("Only that run's test accuracy is shown")).to_be_visible()
    expect(main.get_by_role("heading", name="Validation accuracy by learning rate")).to_be_visible()
    charts = main.get_by_test_id("stPlotlyChart")
    by_value, curves = charts.nth(0), charts.nth(1)
    expect(by_value.locator("g.xtick text")).to_have_text(["0.002", "0.005"])
    expect(by_value.locator("g.textpoint text")).to_have_text([re.compile(r"\d+\.\d\d%")] * 2)
    expect(curves.locator(".main-svg").first).to_be_visible()
    expect(curves.locator("g.trace.scatter")).to_have_count(4)  # loss and validation accuracy of each run
    expect(curves.locator("text.legendtext")).to_have_text(["lr 0.002", "lr 0.005"])
    expect(main.get_by_test_id("stTable")).to_have_count(0)  # the live table gave way to the results
    main.get_by_role("button", name="Make the best run active").click()
    notice = re.compile(r"“sweep \d+ · lr 0\.00[25]” is now the active model")
    expect(main.get_by_text(notice)).to_be_visible()
