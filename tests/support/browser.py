"""What a person does in the app and sees of it, for the browser tests: moving between pages,
typing settings, uploading a file, reading the Train page's progress and figures.

Each action first waits until the app has finished its script run (or fragment run). A person
typing into a sidebar that is being redrawn can lose what they typed too, but a test should
fail on the app, never on its own timing.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from playwright.sync_api import Page, expect

# Generous: the machine is shared with CPU-heavy jobs, and waits end as soon as the page is ready.
EXPECT_TIMEOUT_MS = 60_000
# Far longer than a page switch takes even on a loaded machine (under 2 s), far shorter than the
# minute a test waits for anything.
SECOND_CLICK_AFTER_MS = 15_000


def wait_until_idle(page: Page) -> None:
    """Until the app's last script (or fragment) run has finished."""
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")


def set_number(page: Page, label: str, value: int | float) -> None:
    """Type into a sidebar number input and commit it (Enter)."""
    wait_until_idle(page)
    field = page.get_by_test_id("stSidebar").get_by_label(label, exact=True)
    field.fill(str(value))
    field.press("Enter")
    expect(field).to_have_value(str(value))


def go_to(page: Page, link: str, heading: str) -> None:
    """Follow the sidebar's link to the page titled `heading`; a fresh page load would lose the session.

    Once, in CI on a loaded machine, a click on a sidebar link while a run streamed had no
    effect: the page stayed as it was for the whole minute the test waited. It did not happen
    again in 80 tries here, with and without other processes taking both cores. A person would
    click again, so the test does too, and warns: the warning shows in the test run's summary,
    so it is seen rather than hidden, while the test goes on to what it is about.
    """
    target = page.get_by_role("heading", name=heading)
    wait_until_idle(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=link).click()
    try:
        expect(target).to_be_visible(timeout=SECOND_CLICK_AFTER_MS)
    except AssertionError:
        warnings.warn(f"a click on the sidebar's {link!r} had no effect in 15 s; clicked again", stacklevel=2)
        page.get_by_test_id("stSidebarNav").get_by_role("link", name=link).click()
        expect(target).to_be_visible()


def upload(page: Page, path: Path) -> None:
    """Drop `path` on the Compare runs page's uploader and press "Add to runs" once it has arrived."""
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
    # wait until this file (not the one before it) has reached the server
    expect(page.get_by_test_id("stFileChipName")).to_have_text(path.name)
    expect(page.get_by_test_id("stFileChipIconSpinner")).to_have_count(0)
    page.get_by_role("button", name="Add to runs").click()


CHART_STATE_JS = """() => {
    // While a run trains, the Train page's progress and figures are a component with a shadow
    // root of its own; once it has ended, Streamlit draws the figures.
    const roots = [document, ...[...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean)];
    const find = (selector) => roots.map(root => root.querySelector(selector)).find(Boolean);
    const curves = find('img[src^="data:image/svg+xml"]');
    const text = curves ? atob(curves.src.split(',')[1]) : null;
    const svg = text ? new DOMParser().parseFromString(text, 'image/svg+xml') : null;
    const bar = find('[role=progressbar]');
    return {
        points: svg ? svg.querySelector('g[data-series="loss"] polyline').points.numberOfItems : 0,
        running: bar !== undefined,
        pictures: roots.flatMap(root => [...root.querySelectorAll('img[src^="data:image/png"]')]).length,
        // The words above the bar and the numbers below it.
        progress: bar ? `${bar.previousElementSibling.innerText} ${bar.nextElementSibling.innerText}` : null,
    };
}"""
