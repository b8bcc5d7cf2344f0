"""Driving the app with AppTest: open the whole app on a page, or one page alone; find a button."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Button

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_MODEL = ROOT / "models" / "default.npz"
APP_TIMEOUT = 120  # seconds per script run: generous, the machine is shared


def open_page(page: str) -> AppTest:
    """The whole app (navigation and sidebar included), switched to `page` and run once."""
    app = AppTest.from_file(str(ROOT / "app_navigation.py"), default_timeout=APP_TIMEOUT).run()
    if page != "app_pages/train.py":  # the default page
        app.switch_page(page).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def button(app: AppTest, label: str) -> Button:
    """The first button labelled `label` (fails when there is none)."""
    return next(b for b in app.button if b.label == label)


def open_page_alone(
    page: Path, model_path: Path, drawn: np.ndarray | None = None, timeout: float = APP_TIMEOUT
) -> AppTest:
    """One page without the app around it, `model_path` active and `drawn` as the Draw page's digit."""
    from ui.inside import DRAWN_DIGIT
    from ui.session import ACTIVE

    app = AppTest.from_file(str(page), default_timeout=timeout)
    app.session_state[ACTIVE] = str(model_path)
    if drawn is not None:
        app.session_state[DRAWN_DIGIT] = drawn
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def open_inside(model_path: Path, drawn: np.ndarray | None = None) -> AppTest:
    """The Inside the network page alone, `model_path` active and `drawn` as the Draw page's digit."""
    return open_page_alone(ROOT / "app_pages" / "inside.py", model_path, drawn)
