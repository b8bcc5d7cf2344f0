"""How fast the app feels: cold start, drawing-to-prediction, and the Predictions page.

python -m bench.app_timings                       # figures only
python -m bench.app_timings --screenshots shots  # and a screenshot of each page, in shots/

1. Cold start: from launching `streamlit run` to the first page drawn in Chromium (the Train
   page, with the active-model sidebar), and on to the first Predictions page (which loads
   MNIST and classifies the 10k test images).
2. Canvas to prediction, server side: decoding the PNG the canvas sends and
   `ui.drawing.classify_drawing` on it (what the Draw page runs on each stroke), median of 50
   real test digits drawn at canvas size.
3. Predictions page, misclassified filter: the script run on the server (AppTest, warm caches,
   median of 10), and in the browser from a click on "misclassified" to the new grid (median of 5).
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from nn.core.data import load_mnist
from nn.core.persistence import load_model
from tests.support.server import CHROMIUM_ARGS, ROOT, SHIPPED_MODEL, chromium_path, running_app
from ui.drawing import classify_drawing

DRAWINGS = 50


def canvas_data_url(digit: np.ndarray) -> str:
    """A test digit as the canvas sends it: a 280×280 RGBA PNG data URL, white ink on black."""
    big = np.asarray(Image.fromarray(digit).resize((280, 280), Image.Resampling.BILINEAR))
    rgba = np.dstack([big, big, big, np.full_like(big, 255)])
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def canvas_to_prediction() -> tuple[float, float]:
    """Median ms of (decode + classify) and of classify alone, over 50 drawn test digits."""
    model, mnist = load_model(SHIPPED_MODEL), load_mnist()
    urls = [canvas_data_url(d) for d in mnist.test_images[:DRAWINGS]]
    with_decode, classify_only = [], []
    for url in urls:
        start = time.perf_counter()
        pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
        decoded = time.perf_counter()
        assert classify_drawing(model, pixels) is not None
        done = time.perf_counter()
        with_decode.append(done - start)
        classify_only.append(done - decoded)
    return statistics.median(with_decode) * 1e3, statistics.median(classify_only) * 1e3


def predictions_page_server_ms(models_dir: Path) -> float:
    """Median ms of a rerun of the Predictions page showing the misclassified images."""
    from streamlit.testing.v1 import AppTest

    os.environ["DIGITLAB_MODELS_DIR"] = str(models_dir)
    app = AppTest.from_file(str(ROOT / "app_navigation.py"), default_timeout=120).run()
    app.switch_page("app_pages/predictions.py").run()  # warms the caches
    times = []
    for _ in range(10):
        app.segmented_control(key="show").set_value("all").run()
        start = time.perf_counter()
        app.segmented_control(key="show").set_value("misclassified").run()
        times.append(time.perf_counter() - start)
        assert not app.exception
    return statistics.median(times) * 1e3


def browser_figures(workspace: Path, screenshots: Path | None) -> dict[str, float]:
    from playwright.sync_api import expect, sync_playwright

    figures = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        expect.set_options(timeout=120_000)
        started = time.perf_counter()
        with running_app(workspace / "models", workspace / "streamlit.log") as url:
            page.goto(url)
            expect(page.get_by_role("combobox", name="Model")).to_be_visible()
            expect(page.get_by_role("button", name="Train", exact=True)).to_be_enabled()
            figures["cold start to first page (s)"] = time.perf_counter() - started
            start = time.perf_counter()
            page.get_by_test_id("stSidebarNav").get_by_role("link", name="Predictions").click()
            expect(page.get_by_text("images match")).to_be_visible()
            figures["first Predictions page, cold caches (s)"] = time.perf_counter() - start
            figures["Predictions: click 'misclassified' to new grid (ms)"] = misclassified_click(page)
            if screenshots:
                take_screenshots(page, url, screenshots)
        browser.close()
    return figures


def misclassified_click(page) -> float:
    from playwright.sync_api import expect

    times = []
    show = page.get_by_test_id("stButtonGroup")
    for _ in range(5):
        show.get_by_role("radio", name="all", exact=True).click()
        expect(page.get_by_text("10,000 images match")).to_be_visible()
        start = time.perf_counter()
        show.get_by_role("radio", name="misclassified", exact=True).click()
        expect(page.get_by_text("10,000 images match")).to_have_count(0)
        expect(page.get_by_text("images match")).to_be_visible()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def take_screenshots(page, url: str, directory: Path) -> None:
    """Each page as a new user meets it, in a window tall enough to show all of it."""
    from playwright.sync_api import expect

    directory.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": 2000})
    page.goto(f"{url}/predictions")
    expect(page.locator("[data-testid=stPlotlyChart] .main-svg").first).to_be_visible()
    page.wait_for_timeout(1500)  # plotly finishes drawing a moment after the page settles
    page.screenshot(path=directory / "predictions.png")
    page.goto(f"{url}/draw")
    canvas = page.locator("canvas.upper-canvas")
    box = canvas.bounding_box()
    x, y = box["x"], box["y"]
    page.mouse.move(x + 90, y + 70)
    page.mouse.down()
    for dx, dy in ((200, 70), (120, 240)):  # a 7: the bar, then the stem
        page.mouse.move(x + dx, y + dy, steps=20)
    page.mouse.up()
    expect(page.get_by_text("What the network sees")).to_be_visible()
    page.wait_for_timeout(1500)
    page.screenshot(path=directory / "draw.png")
    page.set_viewport_size({"width": 1400, "height": 1300})
    page.goto(url)
    expect(page.get_by_role("button", name="Train", exact=True)).to_be_enabled()
    expect(page.get_by_label("Epochs", exact=True)).to_be_visible()
    page.screenshot(path=directory / "train_first_visit.png")
    for label, value in (("Epochs", 5), ("Training images", 5_000)):
        field = page.get_by_label(label, exact=True)
        field.fill(str(value))
        field.press("Enter")
        expect(field).to_have_value(str(value))
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_text("Saved as")).to_be_visible(timeout=600_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=directory / "train_after_run.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--screenshots", type=Path, help="save a screenshot of each page here")
    args = parser.parse_args()
    if chromium_path() is None:
        raise SystemExit("no Chromium: install Debian's chromium or set CHROMIUM_PATH")
    with tempfile.TemporaryDirectory() as temp:
        workspace = Path(temp)
        figures = browser_figures(workspace, args.screenshots)
        with_decode, classify_only = canvas_to_prediction()
        figures["canvas PNG to prediction, server (ms, median of 50)"] = with_decode
        figures["  of which classify_drawing (ms)"] = classify_only
        figures["Predictions page rerun, misclassified, server (ms, median of 10)"] = (
            predictions_page_server_ms(workspace / "models")
        )
    for name, value in figures.items():
        print(f"{name:<66} {value:8.2f}")


if __name__ == "__main__":
    main()
