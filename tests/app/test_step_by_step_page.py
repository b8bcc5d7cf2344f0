"""The Step by step page without a browser: every number it shows is `nn`'s, and steps touch only a copy."""

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nn.core.persistence import load_model
from nn.core.preprocess import mnist_style
from nn.explain.gradcheck import check_gradients
from nn.explain.stepwise import largest_changes, neuron_sum, scratch_copy, sgd_steps, softmax_steps, trace
from tests.support.app_driver import ROOT, SHIPPED_MODEL, button, open_page, open_page_alone
from tests.support.figures import values

PAGE = str(ROOT / "app_pages" / "step_by_step.py")


def open_steps(model_path, drawn: np.ndarray | None = None) -> AppTest:
    return open_page_alone(PAGE, model_path, drawn)


def metric(app: AppTest, start: str) -> str:
    return next(m.value for m in app.metric if m.label.startswith(start))


def figure(app: AppTest, title: str) -> dict:
    specs = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    return next(f for f in specs if f["layout"].get("title", {}).get("text", "") == title)


def tables(app: AppTest, first_column: str) -> list:
    return [d.value for d in app.dataframe if d.value.columns[0] == first_column]


def table(app: AppTest, first_column: str):
    return tables(app, first_column)[0]


def first_mistake(model, mnist) -> int:
    return int(np.flatnonzero(model.predict(mnist.test_images[:1000]) != mnist.test_labels[:1000])[0])


def test_the_forward_and_backward_numbers_are_nns(models_dir, shipped_model, mnist):
    app = open_steps(models_dir / SHIPPED_MODEL.name)
    assert app.radio[0].options == ["a test image", "a random mistake"]  # nothing drawn yet
    image, label = mnist.test_images[0], int(mnist.test_labels[0])
    expected = trace(shipped_model, image, label)

    assert metric(app, "Loss −log p") == f"{expected.loss:.6g}"
    assert metric(app, f"p(true digit {label})") == f"{expected.probabilities[label]:.4%}"
    assert metric(app, "Prediction") == str(expected.predicted)
    np.testing.assert_allclose(
        values(figure(app, "the 784 pixels, row after row")["data"][0]["z"])[0],
        image.ravel() / 255,
        rtol=1e-6,
    )
    for i, step in enumerate(expected.hidden):
        strip = values(figure(app, f"all {len(step.z)} units: z, then ReLU(z)")["data"][0]["z"])
        np.testing.assert_allclose(strip, [step.z, step.a], rtol=1e-6)
        firing = [m.value for m in app.metric if m.label.startswith("Units that fire")]
        assert firing[i] == f"{step.firing_share:.0%}"
        neuron = int(np.argmax(step.a))
        assert app.number_input[i + 1].value == neuron  # number_input[0] is the test image's number
        spelled = neuron_sum(shipped_model, expected, i, neuron, top=6)
        terms = tables(app, "input")[i]
        np.testing.assert_allclose(terms["w·x"], spelled.terms, rtol=1e-6)
        assert f"{spelled.z:.4g}" in app.latex[2 * i + 2].value
        delta = values(figure(app, f"hidden layer {i + 1}: δ of all {len(step.z)} units")["data"][0]["z"])[0]
        np.testing.assert_allclose(delta, step.delta, rtol=1e-5, atol=1e-12)
    logits = values(figure(app, "the 10 logits, digit 0 to 9")["data"][0]["z"])[0]
    np.testing.assert_allclose(logits, expected.output.z, rtol=1e-6)
    softmax, output_delta = tables(app, "digit")
    np.testing.assert_allclose(softmax["p"], softmax_steps(expected.output.z).probabilities, rtol=1e-6)
    np.testing.assert_allclose(output_delta["δ = p − onehot"], expected.output.delta, rtol=1e-6)
    neuron = int(np.argmax(expected.hidden[0].a))
    delta = float(expected.hidden[0].delta[neuron])
    gradient = values(figure(app, f"dL/dw into neuron {neuron} (δ = {delta:.4g})")["data"][0]["z"])
    np.testing.assert_allclose(gradient.ravel(), expected.hidden[0].weight_gradient[:, neuron], rtol=1e-6)

    checks = check_gradients(shipped_model, image, label)
    shown = table(app, "weight")
    np.testing.assert_allclose(shown["backprop dL/dw"], [c.backprop for c in checks])
    np.testing.assert_allclose(shown["relative error"], [c.relative_error for c in checks])


def test_choosing_another_neuron_spells_out_its_sum(models_dir, shipped_model, mnist):
    app = open_steps(models_dir / SHIPPED_MODEL.name)
    app.number_input[1].set_value(3).run()
    expected = neuron_sum(shipped_model, trace(shipped_model, mnist.test_images[0], 7), 0, 3, top=6)
    assert "z^{(1)}_{3}" in app.latex[2].value and f"{expected.z:.4g}" in app.latex[2].value
    np.testing.assert_allclose(table(app, "input")["w·x"], expected.terms, rtol=1e-6)


def test_a_step_changes_only_the_scratch_copy_and_lowers_the_loss(models_dir, shipped_model, mnist):
    path = models_dir / SHIPPED_MODEL.name
    stamp = path.stat().st_mtime_ns
    wrong = first_mistake(shipped_model, mnist)
    image, label = mnist.test_images[wrong], int(mnist.test_labels[wrong])
    app = open_steps(path)
    app.number_input[0].set_value(wrong).run()
    lr = app.number_input[-1].value
    assert lr == pytest.approx(0.001)
    button(app, "Take one step").click().run()
    assert not app.exception

    stepped = sgd_steps(scratch_copy(shipped_model), image, label, lr)
    after = trace(stepped, image, label)
    before = trace(shipped_model, image, label)
    assert metric(app, "Loss after 1 step") == f"{after.loss:.6g}"
    assert metric(app, "Loss, saved network") == f"{before.loss:.6g}"
    assert after.loss < before.loss
    changes = table(app, "layer")
    expected = largest_changes(shipped_model, stepped, 10)
    np.testing.assert_allclose(changes["change"], [c.change for c in expected], rtol=1e-5)
    assert list(changes["to unit"]) == [c.target for c in expected]
    # The saved model is untouched, on disk and in memory.
    assert path.stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(load_model(path).params, shipped_model.params)

    button(app, "Take 10 steps").click().run()
    assert float(metric(app, "Loss after 11 steps")) < after.loss
    button(app, "Reset").click().run()
    assert metric(app, "Loss after 0 steps") == f"{before.loss:.6g}"


def test_the_drawn_digit_is_the_default_input_with_its_label_chosen(models_dir, shipped_model, mnist):
    three = mnist_style(mnist.test_images[np.flatnonzero(mnist.test_labels == 3)[0]])
    app = open_steps(models_dir / SHIPPED_MODEL.name, drawn=three)
    assert app.radio[0].value == "your drawing"
    assert app.selectbox[0].value == shipped_model.predict(three) == 3
    app.selectbox[0].set_value(8).run()
    assert metric(app, "Loss −log p") == f"{trace(shipped_model, three, 8).loss:.6g}"


def test_a_random_mistake_is_a_mistake(models_dir, shipped_model, mnist):
    app = open_steps(models_dir / SHIPPED_MODEL.name)
    app.radio[0].set_value("a random mistake").run()
    for _ in range(2):
        title = figure_titles(app)
        index = int(next(t for t in title if t.startswith("Mistake: test image #")).split("#")[1].split()[0])
        assert shipped_model.predict(mnist.test_images[index]) != mnist.test_labels[index]
        button(app, "Another mistake").click().run()


def figure_titles(app: AppTest) -> list[str]:
    specs = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    return [f["layout"].get("title", {}).get("text", "") for f in specs]


def test_the_page_is_in_the_apps_navigation(models_dir):
    app = open_page("app_pages/step_by_step.py")
    assert app.title[0].value == "Step by step"
