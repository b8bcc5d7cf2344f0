"""The Draw page without a browser: the hint on an empty canvas, classification, the clear button."""

import json
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from nn.core.deskew import deskew
from nn.core.network import MLP
from tests.support.app_driver import button, open_page
from tests.support.figures import values
from ui.drawing import classify_drawing

DRAW = "app_pages/draw.py"


def as_canvas(digit: np.ndarray, transparent: bool = False) -> np.ndarray:
    """An MNIST digit as the canvas would return it: 280×280 RGBA, white ink on black."""
    big = np.asarray(Image.fromarray(digit).resize((280, 280), Image.Resampling.BILINEAR))
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., :3] = big[..., None]
    rgba[..., 3] = big if transparent else 255
    return rgba


@pytest.fixture
def confident_digits(shipped_model, mnist):
    """Test digits the model reads correctly and surely: a drawing of one must read the same."""
    probs = shipped_model.predict_proba(mnist.test_images[:200])
    sure = np.flatnonzero((probs.argmax(axis=1) == mnist.test_labels[:200]) & (probs.max(axis=1) > 0.99))
    return [(mnist.test_images[i], int(mnist.test_labels[i])) for i in sure[:20]]


def test_an_empty_canvas_shows_a_hint_not_a_guess(models_dir):
    app = open_page(DRAW)
    assert "Draw a digit in the black square" in app.main.info[0].value
    [prediction] = app.metric
    assert prediction.value == "–" and prediction.delta == "nothing drawn yet"
    bars = json.loads(app.get("plotly_chart")[0].proto.spec)["data"][0]
    assert not values(bars["y"]).any()  # the chart is there, its bars empty
    assert button(app, "Clear")


@pytest.mark.parametrize("transparent", [False, True])
def test_drawings_of_test_digits_are_read_as_those_digits(shipped_model, confident_digits, transparent):
    right = 0
    for digit, label in confident_digits:
        guess = classify_drawing(shipped_model, as_canvas(digit, transparent))
        assert guess.seen.shape == (28, 28)
        assert guess.probs.sum() == pytest.approx(1.0, abs=1e-4)
        right += guess.digit == label
    # Re-centring and rescaling moves a few pixels, so allow the odd miss, not a pattern of them.
    assert right >= 0.9 * len(confident_digits), f"{right} of {len(confident_digits)} right"


def test_nothing_to_classify_gives_no_guess(shipped_model):
    assert classify_drawing(shipped_model, None) is None
    assert classify_drawing(shipped_model, np.zeros((280, 280, 4), np.uint8)) is None


def test_clear_gives_the_canvas_a_new_key(models_dir):
    app = open_page(DRAW)
    canvas_keys = lambda: [c.proto.id for c in app.main.get("bidi_component")]  # noqa: E731
    before = canvas_keys()
    button(app, "Clear").click().run()
    after = canvas_keys()
    assert len(before) == len(after) == 1
    assert before != after


def test_a_deskewing_model_reads_the_drawing_deskewed_and_the_page_can_show_both(shipped_model, mnist):
    deskewing = MLP.from_config(replace(shipped_model.config, prepare="deskew"))
    deskewing.params[...] = shipped_model.params
    guess = classify_drawing(deskewing, as_canvas(mnist.test_images[0]))
    plain = classify_drawing(shipped_model, as_canvas(mnist.test_images[0]))
    np.testing.assert_array_equal(guess.seen, plain.seen)  # the drawing, prepared as MNIST's were
    np.testing.assert_array_equal(plain.read, plain.seen)
    expected = deskew(np.rint(plain.seen * 255).astype(np.uint8)[None])[0] / np.float32(255)
    np.testing.assert_allclose(guess.read, expected, atol=1e-6)
    assert not np.array_equal(guess.read, guess.seen)
    np.testing.assert_allclose(guess.probs, shipped_model.predict_proba(expected), atol=1e-6)
