"""The app in a real Chromium: train and watch, browse the mistakes, draw a digit."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from nn.core.data import load_mnist
from nn.core.persistence import load_model
from nn.explain.metrics import confusion_matrix
from tests.support.browser import CHART_STATE_JS, go_to, set_number
from tests.support.drawing import draw_a_one

pytestmark = pytest.mark.browser

RUN_TIMEOUT_S = 180


def choose_tiny_network(page: Page, epochs: int) -> None:
    """One hidden layer of 32 on 20,000 images, one image per step: about 2 s per epoch here, so that
    the figures, redrawn at most every 3 s, are seen more than once while the run trains (with
    10,000 images, 0.9 s epochs, a whole run sometimes fitted between two redraws)."""
    set_number(page, "Epochs", epochs)
    set_number(page, "Hidden layers", 1)
    expect(page.get_by_label("Layer 2 width", exact=True)).to_have_count(0)
    set_number(page, "Layer 1 width", 32)
    set_number(page, "Training images", 20_000)
    set_number(page, "Batch size", 1)
    set_number(page, "Learning rate", 0.01)


def open_app(page: Page, app_url: str, path: str, heading: str) -> None:
    page.goto(f"{app_url}/{path}")
    expect(page.get_by_role("heading", name=heading)).to_be_visible()


def test_training_redraws_the_loss_chart_as_epochs_end(page: Page, app_url: str, app_models_dir):
    """Epochs of a second or two, and the charts redrawn at most every 3 s: seen growing while it runs."""
    open_app(page, app_url, "", "Train a network")
    choose_tiny_network(page, epochs=8)
    page.get_by_role("button", name="Train", exact=True).click()

    seen_while_running, progress_seen, pictures_seen = set(), set(), set()
    deadline = time.monotonic() + RUN_TIMEOUT_S
    saved = page.get_by_text(re.compile(r"Saved as .*run-.*\.npz"))
    while not saved.is_visible():
        assert time.monotonic() < deadline, f"the run did not finish; chart states seen: {seen_while_running}"
        state = page.evaluate(CHART_STATE_JS)
        if state["running"] and state["points"]:
            seen_while_running.add(state["points"])
        if state["running"]:
            progress_seen.add(state["progress"])
            pictures_seen.add(state["pictures"])
        page.wait_for_timeout(100)  # polling the live page, not standing in for a check

    assert len(seen_while_running) >= 2, f"chart updated only at {seen_while_running} epochs while running"
    # The bar and the numbers beside it, redrawn by the browser from the server's answers every second.
    epochs_done = {m.group(1) for text in progress_seen if (m := re.search(r"Epochs done\s+(\d) / 8", text))}
    assert len(epochs_done) >= 2 and len(progress_seen) >= 4, progress_seen
    assert 2 in pictures_seen, pictures_seen  # the features and the map, drawn by the browser too
    # The final curves are sent before "Saved as", but may be drawn a moment after it shows.
    page.wait_for_function(f"() => {{ const s = ({CHART_STATE_JS})(); return s.points == 8 && !s.running; }}")
    expect(page.get_by_test_id("stMetricValue").filter(has_text="8 / 8")).to_be_visible()
    # The new model is active in the sidebar for the other pages.
    expect(page.get_by_role("combobox", name="Model")).to_have_value(re.compile(r"^run .* · 784-32-10 · "))
    # ...and it was trained with every setting typed into the sidebar, the last one included.
    newest = max((app_models_dir / "runs").glob("*.npz"), key=lambda p: p.stat().st_mtime)
    model = load_model(newest)
    training = model.record.training
    assert (model.config.hidden, training.epochs, training.train_size) == ((32,), 8, 20_000)
    assert (training.batch_size, training.lr) == (1, 0.01)


def test_a_run_survives_a_page_switch_and_stop_keeps_the_model(page: Page, app_url: str):
    open_app(page, app_url, "", "Train a network")
    choose_tiny_network(page, epochs=200)
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_role("progressbar")).to_be_visible()

    go_to(page, "Draw", "Draw a digit")
    go_to(page, "Train", "Train a network")
    # Back on the Train page the same run is still streaming: its epochs keep arriving.
    expect(page.get_by_role("progressbar")).to_be_visible()
    epochs_on_return = page.evaluate(CHART_STATE_JS)["points"]
    page.wait_for_function(f"() => ({CHART_STATE_JS})().points > {epochs_on_return}")

    page.get_by_role("button", name="Stop", exact=True).click()
    expect(page.get_by_text(re.compile(r"Stopped during epoch \d+"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"Saved as .*run-.*\.npz"))).to_be_visible()
    expect(page.get_by_role("progressbar")).to_have_count(0)


@pytest.fixture(scope="module")
def shipped_answers(app_models_dir) -> tuple[int, int, int, int]:
    """(true, predicted, count) of the served default model's commonest confusion, and its mistakes.

    Computed here, from the server's own copy of the model, independently of the page.
    """
    mnist = load_mnist()
    predicted = load_model(app_models_dir / "default.npz").predict(mnist.test_images)
    matrix = confusion_matrix(mnist.test_labels, predicted)
    np.fill_diagonal(matrix, 0)
    true, said = np.unravel_index(matrix.argmax(), matrix.shape)
    return int(true), int(said), int(matrix[true, said]), int(matrix.sum())


def tile_texts(page: Page, count: int) -> list[str]:
    """The caption of each tile in the grid, once the grid shows `count` tiles."""
    tiles = page.locator("[class*='st-key-tile_']")
    expect(tiles).to_have_count(count)
    return [t.get_by_test_id("stMarkdownContainer").first.inner_text() for t in tiles.all()]


def test_browsing_misclassified_images_and_following_a_confusion_matrix_cell(
    page: Page, app_url: str, shipped_answers
):
    true, said, count, mistakes = shipped_answers
    open_app(page, app_url, "predictions", "Predictions on the test set")
    # Runs trained by other tests may be active: switch to the shipped model in the sidebar.
    page.get_by_role("combobox", name="Model").click()
    page.get_by_role("option", name=re.compile(r"^default · ")).click()
    expect(page.get_by_role("combobox", name="Model")).to_have_value(re.compile(r"^default · "))
    expect(page.get_by_text(f"{mistakes:,} images match")).to_be_visible()
    texts = tile_texts(page, 24)
    for text in texts:  # "7 → 2 / 98% sure": every tile shown is a mistake
        label, answer = re.match(r"(\d) → (\d)", text).groups()
        assert label != answer, text

    page.get_by_role("button", name="Page 2", exact=True).click()
    expect(page.get_by_role("button", name="Page 2", exact=True)).to_have_attribute("aria-current", "page")
    expect(page.locator("[class*='st-key-tile_']").first).not_to_have_text(texts[0])

    cell = page.locator("[data-testid=stPlotlyChart] .scatterlayer .trace .point").nth(true * 10 + said)
    cell.scroll_into_view_if_needed()  # the mouse clicks in the viewport: bring the cell into it
    box = cell.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.get_by_text(f"{count:,} images match")).to_be_visible()
    assert all(text.startswith(f"{true} → {said}") for text in tile_texts(page, min(count, 24)))

    page.locator("[class*='st-key-inspect_']").first.get_by_role("button").click()
    expect(page.get_by_role("heading", name=re.compile(r"Test image #\d+"))).to_be_visible()
    expect(page.get_by_text(f"True digit {true}, the network says {said}.")).to_be_visible()


def test_drawing_a_digit_shows_the_prediction_and_clear_empties_the_canvas(page: Page, app_url: str):
    open_app(page, app_url, "draw", "Draw a digit")
    hint = page.get_by_text("Draw a digit in the black square")
    expect(hint).to_be_visible()
    draw_a_one(page)

    prediction = page.get_by_test_id("stMetric").filter(has_text="Prediction")
    expect(prediction.get_by_test_id("stMetricValue")).to_have_text("1")
    expect(prediction.get_by_test_id("stMetricDelta")).to_have_text(re.compile(r"\d+% confident"))
    expect(page.get_by_text("What the network sees: 28×28 pixels")).to_be_visible()
    expect(hint).to_have_count(0)

    page.get_by_role("button", name="Clear", exact=True).click()
    expect(hint).to_be_visible()
    expect(prediction.get_by_test_id("stMetricValue")).to_have_text("–")  # no guess without a drawing
