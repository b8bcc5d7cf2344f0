"""The pages of issue 5 driven as a person would, in Chromium: compare runs, teach the network.

The server and this test share the run store and the user's digits through the environment
(`DIGITLAB_RUNS_DB`, `DIGITLAB_USER_DIGITS`, set for the whole session in tests/conftest.py).
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from nn.core.config import TrainConfig
from nn.core.events import EpochEnd
from nn.core.network import MLP
from nn.core.persistence import load_model
from nn.core.record import ModelRecord
from services.runs import RunStore
from tests.support.browser import go_to, upload
from tests.support.drawing import draw_a_one

pytestmark = pytest.mark.browser


def record(name: str, lr: float, losses: list[float]) -> None:
    model = MLP((8,), seed=0)
    model.record = ModelRecord(
        training=TrainConfig(lr=lr, epochs=len(losses)),
        history=tuple(
            EpochEnd(epoch, len(losses), loss, 0.5, None, 1 - loss / 3, 1.0, lr)
            for epoch, loss in enumerate(losses, start=1)
        ),
        test_accuracy=1 - losses[-1] / 3,
    )
    RunStore().add(model, source="cli", name=name)


def test_ticking_two_runs_lays_their_curves_over_each_other(page: Page, app_url: str):
    tag = uuid.uuid4().hex[:6]
    names = [f"fast {tag}", f"slow {tag}"]
    record(names[0], 0.1, [0.9, 0.4, 0.2])
    record(names[1], 0.01, [2.0, 1.5, 1.2])
    page.goto(f"{app_url}/runs")
    expect(page.get_by_role("heading", name="Compare runs")).to_be_visible()
    expect(page.get_by_text("Tick one or more runs")).to_be_visible()
    for name in names:
        page.get_by_text(name, exact=True).click()
    chart = page.get_by_test_id("stPlotlyChart")
    expect(chart.locator(".main-svg").first).to_be_visible()
    # one line per run on each of the two panels (loss, accuracy), one legend entry per run
    expect(chart.locator("g.trace.scatter")).to_have_count(4)
    expect(chart.locator("text.legendtext")).to_have_text(names[::-1])  # as listed: newest first


def test_upload_is_validated_and_a_run_downloads_as_the_same_model(
    page: Page, app_url: str, shipped_model_path: Path, tmp_path: Path
):
    page.goto(f"{app_url}/runs")
    expect(page.get_by_role("heading", name="Upload a model")).to_be_visible()
    fake = tmp_path / "fake.npz"
    fake.write_bytes(b"PK\x03\x04 this is no model")
    upload(page, fake)
    expect(page.get_by_text("the uploaded file is not a Digit Lab model")).to_be_visible()

    upload(page, shipped_model_path)
    accuracy = load_model(shipped_model_path).record.test_accuracy  # measured when it was trained
    expect(page.get_by_text(f"Added “default” ({accuracy:.2%} on the test set).")).to_be_visible()
    expect(page.get_by_role("combobox", name="Run")).to_have_value("default")  # the newest run
    with page.expect_download() as download:
        page.get_by_role("button", name="Download .npz").click()
    saved = tmp_path / "downloaded.npz"
    download.value.save_as(saved)
    np.testing.assert_array_equal(load_model(saved).params, load_model(shipped_model_path).params)


def draw_a_one_and_see_it_read(page: Page) -> None:
    draw_a_one(page)
    prediction = page.get_by_test_id("stMetric").filter(has_text="Prediction")
    expect(prediction.get_by_test_id("stMetricValue")).to_have_text("1")


def test_draw_look_inside_label_and_fine_tune_adds_a_run(page: Page, app_url: str):
    page.goto(f"{app_url}/draw")
    expect(page.get_by_role("heading", name="Draw a digit")).to_be_visible()
    draw_a_one_and_see_it_read(page)

    go_to(page, "Inside the network", "Inside the network")
    expect(page.get_by_role("radio", name="your drawing")).to_be_checked()
    expect(page.get_by_text("Why 1 and not…")).to_be_visible()
    expect(page.get_by_text(r"red: for 1 · blue: for")).to_be_visible()

    go_to(page, "Draw", "Draw a digit")
    draw_a_one_and_see_it_read(page)
    page.get_by_role("button", name="Add to my digits").click()
    expect(page.get_by_text("Added as a 1")).to_be_visible()

    go_to(page, "Your handwriting", "Your handwriting")
    expect(page.get_by_role("heading", name="Fine-tune the active model")).to_be_visible()
    # The default settings: seconds of work, so the fine-tune is surely still running when the
    # test leaves the page (a one-epoch fine-tune on 1,000 images could end before its bar shows).
    page.get_by_role("button", name="Fine-tune on my digits").click()
    expect(page.get_by_test_id("stProgress")).to_be_visible()
    go_to(page, "Draw", "Draw a digit")  # leaving the page does not abandon the fine-tune
    go_to(page, "Your handwriting", "Your handwriting")
    expect(page.get_by_test_id("stMetric").filter(has_text="MNIST test accuracy")).to_be_visible()
    saved = page.get_by_text(re.compile(r"Saved as the run “.+ \+ my digits”"))
    expect(saved).to_be_visible()
    name = re.search(r"“(.+ \+ my digits)”", saved.inner_text()).group(1)

    go_to(page, "Compare runs", "Compare runs")
    expect(page.get_by_text(name, exact=True)).to_be_visible()
