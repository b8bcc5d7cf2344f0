"""Driving the whole app with AppTest: open a page, find a button."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_MODEL = ROOT / "models" / "default.npz"
APP_TIMEOUT = 120  # seconds per script run: generous, the machine is shared


def open_page(page: str) -> AppTest:
    """The whole app (navigation and sidebar included), switched to `page` and run once."""
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=APP_TIMEOUT).run()
    if page != "app_pages/train.py":  # the default page
        app.switch_page(page).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def button(app: AppTest, label: str):
    return next(b for b in app.button if b.label == label)
