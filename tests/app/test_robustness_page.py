"""The Robustness page without a browser: attacks on a chosen digit, the curves, the temperature button."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nn.core.config import RunConfig
from nn.core.persistence import load_model, save_model
from nn.core.preprocess import mnist_style
from nn.engines import start_training
from nn.robustness.adversarial import accuracy_under_attack, attack_one, smallest_flipping_epsilon
from nn.robustness.calibration import calibrate
from services.locations import MODELS_DIR_ENV
from tests.support.app_driver import ROOT, SHIPPED_MODEL, button, open_page_alone
from tests.support.figures import values
from ui.robustness import EPSILONS, NOT_SURE, attack_curves, sample

PAGE = str(ROOT / "app_pages" / "robustness.py")


@pytest.fixture(scope="module")
def shipped_copy(tmp_path_factory) -> Path:
    """The shipped model in a models directory shared by this module's tests.

    The page's curves are cached by model path: one path for all the tests that only read the
    page means the 1,000-image curves are measured once, not once per test.
    """
    directory = tmp_path_factory.mktemp("robustness") / "models"
    directory.mkdir()
    shutil.copy(SHIPPED_MODEL, directory / SHIPPED_MODEL.name)
    with pytest.MonkeyPatch.context() as env:
        env.setenv(MODELS_DIR_ENV, str(directory))
        yield directory / SHIPPED_MODEL.name


def open_robustness(model_path, drawn: np.ndarray | None = None) -> AppTest:
    return open_page_alone(PAGE, model_path, drawn, timeout=600)


def metric(app: AppTest, label: str):
    return next(m for m in app.metric if m.label == label)


def epsilon_slider(app: AppTest):
    return next(s for s in app.slider if s.label.startswith("ε"))


def figures(app: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def test_a_test_image_is_attacked_and_its_smallest_flipping_epsilon_shown(shipped_copy, shipped_model, mnist):
    app = open_robustness(shipped_copy)
    assert app.radio[0].options == ["a test image"]
    image, label = mnist.test_images[0], int(mnist.test_labels[0])
    smallest = smallest_flipping_epsilon(shipped_model, image, "fgsm", label=label)
    assert metric(app, "Smallest ε that works").value == f"{smallest:.3f}"

    epsilon_slider(app).set_value(0.0).run()
    assert metric(app, "Before").value == metric(app, "After").value == str(label)
    above = float(np.ceil(smallest / 0.005) * 0.005)
    epsilon_slider(app).set_value(above).run()
    expected = attack_one(shipped_model, image, above, "fgsm", label=label)
    assert expected.flipped
    assert metric(app, "After").value == str(expected.after.argmax()) != str(label)


def test_a_drawn_digit_is_the_first_choice_and_can_be_pushed_toward_a_digit(
    shipped_copy, shipped_model, mnist
):
    drawn = mnist_style(np.pad(np.full((18, 4), 255, np.uint8), ((5, 5), (12, 12))))  # a stroke: a 1
    app = open_robustness(shipped_copy, drawn=drawn)
    assert app.radio[0].options == ["your drawing", "a test image"] and app.radio[0].value == "your drawing"
    app.selectbox[0].set_value(7).run()
    app.radio[1].set_value("pgd").run()
    smallest = smallest_flipping_epsilon(shipped_model, drawn, "pgd", target=7)
    assert metric(app, "Smallest ε that works").value == f"{smallest:.3f}"
    epsilon_slider(app).set_value(0.3).run()
    assert metric(app, "After").value == str(
        attack_one(shipped_model, drawn, 0.3, "pgd", target=7).after.argmax()
    )
    assert metric(app, "After").value == "7"


def test_the_curves_are_the_engines_on_the_fixed_sample(shipped_copy, shipped_model):
    app = open_robustness(shipped_copy)
    attack_figure = next(f for f in figures(app) if "FGSM" in f["data"][0].get("name", ""))
    fgsm_trace = attack_figure["data"][0]
    images, labels = sample()
    assert len(images) == 1000
    np.testing.assert_allclose(
        values(fgsm_trace["y"]), accuracy_under_attack(shipped_model, images, labels, EPSILONS)
    )
    assert attack_curves(shipped_copy)["fgsm"][0] == pytest.approx(shipped_model.score(images, labels))
    corruption_figure = next(f for f in figures(app) if f["layout"].get("annotations"))
    assert [a["text"] for a in corruption_figure["layout"]["annotations"]][:6] == [
        "rotation", "shift", "scale", "noise", "thickness", "blur",
    ]  # fmt: skip
    trained = "augmentation “elastic+noise+blur+narrow”"
    assert any("degrades gracefully" in c.value and trained in c.value for c in app.caption)
    clean = attack_curves(shipped_copy)["fgsm"][0]
    [line] = [c.value for c in app.caption if "(no adversarial training)**: clean" in c.value]
    assert f"clean {clean:.1%}; at ε = 0.05 / 0.1 / 0.2: FGSM" in line


def test_a_model_that_held_nothing_out_may_not_save_a_temperature(shipped_copy):
    app = open_robustness(shipped_copy)
    assert "learned from every training image" in app.warning[0].value
    assert button(app, f"Save T = {metric(app, 'Fitted temperature T').value} with the model").disabled


@pytest.fixture
def held_out_model(models_dir, mnist):
    """A quick model that held 2,000 training images out, saved in the app's models directory."""
    config = RunConfig.from_values(dict(hidden=(64,), epochs=3, train_size=6_000, val_size=2_000, seed=1))
    run = start_training(config, mnist)
    for _ in run.events():
        pass
    return save_model(run.model, models_dir / "held_out.npz")


def test_saving_the_temperature_keeps_the_weights_and_is_used_from_then_on(held_out_model, mnist):
    fitted = calibrate(load_model(held_out_model), mnist)
    app = open_robustness(held_out_model)
    assert not app.warning
    assert metric(app, "ECE as trained").value == f"{fitted.before.ece:.2%}"
    assert metric(app, "ECE temperature scaled").value == f"{fitted.after.ece:.2%}"
    save = button(app, f"Save T = {fitted.temperature:.2f} with the model")
    assert not save.disabled
    weights = load_model(held_out_model).params.copy()
    save.click().run()
    assert not app.exception
    warmed = load_model(held_out_model)
    assert warmed.temperature == pytest.approx(fitted.temperature)
    np.testing.assert_array_equal(warmed.params, weights)
    assert "weights are unchanged" in app.success[0].value
    assert f"saved with temperature {fitted.temperature:.2f}" in app.info[0].value

    button(app, "Remove the temperature").click().run()
    assert load_model(held_out_model).record.temperature is None
    np.testing.assert_array_equal(load_model(held_out_model).params, weights)


def test_the_not_sure_threshold_moves_the_point_on_the_coverage_curve(shipped_copy, shipped_model, mnist):
    app = open_robustness(shipped_copy)
    threshold = next(s for s in app.slider if s.label.startswith("Say “not sure”"))
    threshold.set_value(0.99).run()
    assert app.session_state[NOT_SURE] == 0.99
    confidence = shipped_model.predict_proba(mnist.test_images).max(axis=1)
    answered = confidence >= 0.99
    right = shipped_model.predict(mnist.test_images)[answered] == mnist.test_labels[answered]
    expected = f"At 99% the network answers {answered.mean():.1%} of the test digits and is right on "
    expected += f"{right.mean():.2%}"
    assert any(c.value.startswith(expected) for c in app.caption)
