"""A real `streamlit run` of the app and a real Chromium driving it through Playwright.

The server runs on a free localhost port with its own models directory (a copy of the shipped
default model), so browser tests never write into the repository's `models/`. Any JavaScript
error on a page, or any traceback or widget warning in the server's log, fails the suite.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.browser import EXPECT_TIMEOUT_MS
from tests.support.server import CHROMIUM_ARGS, SHIPPED_MODEL, chromium_path, running_app


@pytest.fixture(scope="session")
def shipped_model_path() -> Path:
    """The model the server starts with (copied into its own models directory)."""
    return SHIPPED_MODEL


@pytest.fixture(scope="session")
def app_models_dir(tmp_path_factory) -> Path:
    """The models directory of the server under test (where its runs are saved)."""
    return tmp_path_factory.mktemp("app") / "models"


@pytest.fixture(scope="session")
def app_url(app_models_dir) -> str:
    """Start the app once for the whole browser suite; stop it at the end."""
    log = app_models_dir.parent / "streamlit.log"
    with running_app(app_models_dir, log) as url:
        yield url
    logged = log.read_text(errors="replace")
    # "Stack" heads Streamlit's warnings about misused widgets, which are bugs as much as tracebacks.
    for sign in ("Traceback", "Stack (most recent call last)"):
        assert sign not in logged, f"the server logged an error or a warning: see {log}"


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium found: install Debian's chromium or set CHROMIUM_PATH")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, app_url):
    """A fresh browser session (its own Streamlit session) that fails on any JavaScript error."""
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(EXPECT_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
