"""Moving between the app's pages through the sidebar, as a person would."""

from __future__ import annotations

import warnings

from playwright.sync_api import Page, expect

# Far longer than a page switch takes even on a loaded machine (under 2 s), far shorter than the
# minute a test waits for anything.
SECOND_CLICK_AFTER_MS = 15_000


def go_to(page: Page, link: str, heading: str) -> None:
    """Follow the sidebar's link to the page titled `heading`; a fresh page load would lose the session.

    Once, in CI on a loaded machine, a click on a sidebar link while a run streamed had no
    effect: the page stayed as it was for the whole minute the test waited. It did not happen
    again in 80 tries here, with and without other processes taking both cores. A person would
    click again, so the test does too, and warns: the warning shows in the test run's summary,
    so it is seen rather than hidden, while the test goes on to what it is about.
    """
    target = page.get_by_role("heading", name=heading)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=link).click()
    try:
        expect(target).to_be_visible(timeout=SECOND_CLICK_AFTER_MS)
    except AssertionError:
        warnings.warn(f"a click on the sidebar's {link!r} had no effect in 15 s; clicked again", stacklevel=2)
        page.get_by_test_id("stSidebarNav").get_by_role("link", name=link).click()
        expect(target).to_be_visible()
