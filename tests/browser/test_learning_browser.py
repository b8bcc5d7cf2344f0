"""Step by step and the layer maps in a real Chromium: a drawn digit taken apart, one step of
learning, and a click on a map."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import go_to
from tests.support.drawing import draw_a_one

pytestmark = pytest.mark.browser


def metric_value(page: Page, label: str) -> float:
    metric = page.get_by_test_id("stMetric").filter(has_text=label)
    return float(metric.get_by_test_id("stMetricValue").inner_text())


def test_a_drawn_digit_taken_step_by_step_and_one_step_lowers_its_loss(page: Page, app_url: str):
    page.goto(f"{app_url}/draw")
    expect(page.get_by_role("heading", name="Draw a digit")).to_be_visible()
    draw_a_one(page)
    expect(page.get_by_text("What the network sees: 28×28 pixels")).to_be_visible()

    go_to(page, "Step by step", "Step by step")
    expect(page.get_by_role("radio", name="your drawing")).to_be_checked()
    # Say the drawing is really a 7: the network is sure it is a 1, so the loss is large.
    page.get_by_role("combobox", name="It is really a…").click()
    page.get_by_role("option", name="7", exact=True).click()
    expect(page.get_by_test_id("stMetric").filter(has_text="p(true digit 7)")).to_be_visible()
    expect(page.get_by_role("heading", name="6 · Check: is backprop right?")).to_be_visible()
    before = metric_value(page, "Loss, saved network")
    assert before == metric_value(page, "Loss after 0 steps")
    assert before > 0.1

    page.get_by_role("button", name="Take one step", exact=True).click()
    after_label = page.get_by_test_id("stMetric").filter(has_text="Loss after 1 step")
    expect(after_label).to_be_visible()
    after = metric_value(page, "Loss after 1 step")
    assert after < before, (before, after)
    assert metric_value(page, "Loss, saved network") == before  # the saved network is unchanged
    expect(page.get_by_text("The weights that changed most")).to_be_visible()

    page.get_by_role("button", name="Reset", exact=True).click()
    expect(page.get_by_test_id("stMetric").filter(has_text="Loss after 0 steps")).to_be_visible()


def test_clicking_a_point_on_a_layer_map_shows_its_digit(page: Page, app_url: str):
    page.goto(f"{app_url}/inside")
    expect(page.get_by_role("heading", name="How the layers sort the digits")).to_be_visible()
    chart = page.get_by_test_id("stPlotlyChart").filter(has_text="after training:")
    point = chart.locator(".scatterlayer .trace .point").nth(0)
    expect(point).to_be_visible()
    chart.scroll_into_view_if_needed()  # the mouse clicks in the viewport: bring the map into it
    box = point.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.get_by_text(re.compile(r"^Test image #\d+: a \d$"))).to_be_visible()
