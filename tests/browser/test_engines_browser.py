"""The TensorFlow engine driven in Chromium: a run trained by it says where it computes, Compare
runs lists it with its device and downloads it as a `.keras` file that Keras opens and that
answers as the run does, Step by step sets TensorFlow's gradients beside NumPy's; and the server's
process, which served all of it, never mapped TensorFlow's libraries.

This test process imports Keras to open the downloaded file; the server never does.
"""

from __future__ import annotations

import re
from pathlib import Path

import keras
import numpy as np
import pytest
from playwright.sync_api import Page, expect

from nn.core.data import load_mnist
from nn.core.persistence import load_model
from services.runs import RunStore
from tests.support.browser import go_to, set_number, wait_until_idle
from tests.support.server import server_pid

pytestmark = pytest.mark.browser

DEVICE = re.compile(r"TensorFlow 2\.\d+\.\d+ on the CPU")  # this machine has no GPU
SAVED = re.compile(r"Saved as `?(run-\S+\.npz)")


def train_with_tensorflow(page: Page, app_url: str) -> Path:
    """A one-layer network trained by TensorFlow until it has been seen training; its model file."""
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Train a network")).to_be_visible()
    set_number(page, "Epochs", 500)
    set_number(page, "Hidden layers", 1)
    set_number(page, "Layer 1 width", 16)
    set_number(page, "Training images", 5_000)
    wait_until_idle(page)
    page.get_by_role("combobox", name="Engine").click()
    expect(page.get_by_role("option", name="NumPy (from scratch)", exact=True)).to_be_visible()
    page.get_by_role("option", name="TensorFlow", exact=True).click()
    expect(page.get_by_role("combobox", name="Engine")).to_have_value("TensorFlow")
    page.get_by_role("button", name="Train", exact=True).click()
    # Drawn by the browser from the server's answers (ui.live), once the worker has said.
    expect(page.get_by_text(re.compile(r"^Training on " + DEVICE.pattern))).to_be_visible()
    expect(page.get_by_text(re.compile(r"^([2-9]|\d\d+) / 500$"))).to_be_visible()  # epochs done: two or more
    page.get_by_role("button", name="Stop", exact=True).click()
    expect(page.get_by_text(re.compile(r"^Trained on " + DEVICE.pattern))).to_be_visible()
    saved = page.get_by_text(SAVED)
    expect(saved).to_be_visible()
    return Path(SAVED.search(saved.inner_text()).group(1))


def test_a_tensorflow_run_from_training_to_keras_and_its_gradients(
    page: Page, app_url: str, app_models_dir: Path, tmp_path: Path
):
    model_path = app_models_dir / "runs" / train_with_tensorflow(page, app_url).name
    run = RunStore(models_dir=app_models_dir).find(model_path)  # the server's store
    assert run.engine == "tensorflow" and DEVICE.match(run.device)
    model = load_model(model_path)

    go_to(page, "Compare runs", "Compare runs")
    expect(page.get_by_text(f"TensorFlow\n{run.device}").first).to_be_visible()  # engine, then device
    expect(page.get_by_role("combobox", name="Run")).to_have_value(run.name)  # the newest run
    page.get_by_role("button", name="Prepare .keras").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download .keras").click()
    keras_path = tmp_path / "run.keras"
    download.value.save_as(keras_path)
    images = load_mnist().test_images[:1000].reshape(-1, 784).astype(np.float32) / 255
    answers = keras.models.load_model(keras_path).predict(images, verbose=0)
    np.testing.assert_allclose(answers, model.predict_proba(images), atol=1e-5)

    go_to(page, "Step by step", "Step by step")
    page.get_by_text("a random mistake", exact=True).click()
    expect(page.get_by_role("radio", name="a random mistake")).to_be_checked()
    page.get_by_role("button", name="Compute the same gradients in TensorFlow").click()
    expect(page.get_by_test_id("stCode").filter(has_text="tf.GradientTape()")).to_be_visible()
    expect(page.get_by_test_id("stCode").filter(has_text="def loss_and_gradients")).to_be_visible()
    relative = page.get_by_test_id("stMetric").filter(has_text="Relative to the largest gradient")
    assert float(relative.get_by_test_id("stMetricValue").inner_text()) < 1e-5

    maps = Path(f"/proc/{server_pid(app_url)}/maps").read_text()
    assert "tensorflow" not in maps, "the server's process loaded TensorFlow"
