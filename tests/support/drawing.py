"""Drawing on the app's canvas as a person would, with the mouse."""

from __future__ import annotations

from collections.abc import Sequence

from playwright.sync_api import Error, Page, expect

TRIES = 3
DIGIT_HEIGHT = 190  # canvas pixels: a digit drawn across most of the 280-pixel square
DIGIT_WIDTH = 0.6 * DIGIT_HEIGHT
A_ONE = ([(0.5, 0.0), (0.52, 1.0)],)  # a vertical stroke down the middle


def draw(page: Page, strokes: Sequence[Sequence[tuple[float, float]]]) -> None:
    """Strokes given in a unit box (x right, y down), drawn in the middle of the canvas.

    The digit stays well clear of the toolbar in the top-right corner. Just after a page switch
    the canvas can be on screen before it listens to the mouse, and then the drawing is lost, as
    a person's would be; like a person, the test then draws again. Whether a stroke landed shows
    in the canvas's own Undo button, which is enabled once it holds one.
    """
    canvas = page.locator("canvas.upper-canvas")
    undo = page.get_by_role("button", name="Undo")
    for attempt in range(1, TRIES + 1):
        box = canvas.bounding_box()
        centre_x, centre_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        for stroke in strokes:
            points = [
                (centre_x + (x - 0.5) * DIGIT_WIDTH, centre_y + (y - 0.5) * DIGIT_HEIGHT) for x, y in stroke
            ]
            page.mouse.move(*points[0])
            page.mouse.down()
            for point in points[1:]:
                page.mouse.move(*point, steps=4)
            page.mouse.up()
        try:
            expect(undo).to_be_enabled(timeout=5_000)
            return
        except (AssertionError, Error):
            if attempt == TRIES:
                raise


def draw_a_one(page: Page) -> None:
    draw(page, A_ONE)
