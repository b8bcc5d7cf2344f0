"""The Robustness page and its companions in Chromium: the ε slider fools the network, the Draw
page says "not sure", and a run downloads as ONNX that onnxruntime reads as nn/ does."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from playwright.sync_api import Page, expect

from nn.core.data import load_mnist
from nn.core.network import as_batch
from nn.core.persistence import load_model
from tests.support.browser import go_to, upload
from tests.support.drawing import draw_a_one

pytestmark = pytest.mark.browser

FIRST_VISIT_MS = 600_000  # the first visit measures 1,000-image curves: minutes on a busy machine


def metric_value(page: Page, label: str):
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")


def slider(page: Page, label: str):
    return page.get_by_test_id("stSlider").filter(has_text=label).get_by_role("slider")


def test_the_epsilon_slider_flips_a_drawn_digits_prediction(page: Page, app_url: str):
    page.goto(f"{app_url}/draw")
    expect(page.get_by_role("heading", name="Draw a digit")).to_be_visible()
    draw_a_one(page)
    expect(metric_value(page, "Prediction")).to_have_text("1")

    go_to(page, "Robustness", "Robustness")
    expect(page.get_by_role("radio", name="your drawing")).to_be_checked()
    # Let the first visit finish measuring its curves, so the slider's reruns are quick.
    expect(page.get_by_text("the network answers")).to_be_visible(timeout=FIRST_VISIT_MS)

    epsilon = slider(page, "ε: how far any pixel may move")
    epsilon.focus()
    epsilon.press("Home")
    expect(epsilon).to_have_value("0")
    expect(metric_value(page, "After")).to_have_text("1")
    expect(metric_value(page, "Before")).to_have_text("1")

    epsilon.press("End")
    expect(epsilon).to_have_value("0.3")
    expect(metric_value(page, "After")).not_to_have_text("1")
    expect(metric_value(page, "Before")).to_have_text("1")
    expect(page.get_by_text("after the attack, ε = 0.3")).to_be_visible()


def test_the_draw_page_says_not_sure_below_the_threshold(page: Page, app_url: str):
    page.goto(f"{app_url}/draw")
    expect(page.get_by_role("heading", name="Draw a digit")).to_be_visible()
    draw_a_one(page)
    expect(metric_value(page, "Prediction")).to_have_text("1")

    threshold = slider(page, "Say “not sure” below this confidence")
    threshold.focus()
    threshold.press("End")  # 100 %: nothing is that sure
    expect(metric_value(page, "Prediction")).to_have_text("not sure")
    delta = page.get_by_test_id("stMetric").filter(has_text="Prediction").get_by_test_id("stMetricDelta")
    expect(delta).to_have_text(re.compile(r"would have said 1 \(\d+%\)"))

    go_to(page, "Robustness", "Robustness")  # the threshold is the same on the coverage curve
    expect(page.get_by_text("the network answers")).to_be_visible(timeout=FIRST_VISIT_MS)
    expect(slider(page, "Say “not sure” below this confidence")).to_have_value("1")


def test_a_run_downloads_as_onnx_that_onnxruntime_reads_like_nn(
    page: Page, app_url: str, shipped_model_path: Path, tmp_path: Path
):
    page.goto(f"{app_url}/runs")
    expect(page.get_by_role("heading", name="Upload a model")).to_be_visible()
    upload(page, shipped_model_path)
    expect(page.get_by_text("Added “default”")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download .onnx").click()
    saved = tmp_path / "downloaded.onnx"
    download.value.save_as(saved)
    assert download.value.suggested_filename.endswith(".onnx")

    session = onnxruntime.InferenceSession(str(saved), providers=["CPUExecutionProvider"])
    images = load_mnist().test_images[:1000]
    (probabilities,) = session.run(["probabilities"], {"pixels": as_batch(images, "float32")[0]})
    assert np.abs(probabilities - load_model(shipped_model_path).predict_proba(images)).max() < 1e-5
