"""Drawing on the app's canvas as a person would, with the mouse."""

from __future__ import annotations

from playwright.sync_api import Error, Page, expect

TRIES = 3


def draw_a_one(page: Page) -> None:
    """A vertical stroke down the middle of the canvas: a 1.

    The stroke starts well clear of the toolbar in the top-right corner. Just after a page
    switch the canvas can be on screen before it listens to the mouse, and then the stroke is
    lost, as a person's would be; like a person, the test then draws again. Whether a stroke
    landed shows in the canvas's own Undo button, which is enabled once it holds one.
    """
    canvas = page.locator("canvas.upper-canvas")
    undo = page.get_by_role("button", name="Undo")
    for attempt in range(1, TRIES + 1):
        box = canvas.bounding_box()
        x = box["x"] + box["width"] / 2
        page.mouse.move(x, box["y"] + 50)
        page.mouse.down()
        page.mouse.move(x + 4, box["y"] + box["height"] - 50, steps=25)
        page.mouse.up()
        try:
            expect(undo).to_be_enabled(timeout=5_000)
            return
        except (AssertionError, Error):
            if attempt == TRIES:
                raise
