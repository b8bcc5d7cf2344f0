"""The shipped model reads digits drawn with the mouse the ways people write them: crossed
sevens, flagged ones, open fours, looped twos, in one stroke or several.

The strokes are `bench.drawn_digits`' styles (where they are also rendered in many poses, pens
and as scans, offline); here they go through the real canvas, the browser and the server.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from bench.drawn_digits import STYLES
from tests.support.drawing import draw

pytestmark = pytest.mark.browser

DRAWN = ("1 flagged", "2 looped", "3 flat-topped", "4 open", "7 crossed", "8 one stroke", "9 curved stem")


def test_digits_drawn_in_other_hands_styles_are_read(page: Page, app_url: str):
    page.goto(f"{app_url}/draw")
    expect(page.get_by_role("heading", name="Draw a digit")).to_be_visible()
    prediction = page.get_by_test_id("stMetric").filter(has_text="Prediction").get_by_test_id("stMetricValue")
    styles = {f"{style.digit} {style.name}": style for style in STYLES}
    for name in DRAWN:
        draw(page, styles[name].strokes)
        expect(prediction, name).to_have_text(str(styles[name].digit))
        page.get_by_role("button", name="Clear", exact=True).click()
        expect(prediction).to_have_text("–")
        expect(page.locator("canvas.upper-canvas")).to_have_count(1)  # the cleared canvas is gone
