"""Filtering, sorting and paging the test-set predictions (plain functions, synthetic data)."""

import io

import numpy as np
import pytest
from PIL import Image

from ui.pixels import enlarge, png
from ui.predictions import Predictions, page, page_count, select


@pytest.fixture
def predictions():
    # Six images: labels 0 0 1 1 2 2; the model's answer and confidence per row below.
    answers = [0, 1, 1, 0, 2, 1]
    confidence = [0.9, 0.8, 0.6, 0.95, 0.7, 0.5]
    probs = np.full((6, 10), 0.0)
    for row, (answer, sure) in enumerate(zip(answers, confidence)):
        probs[row] = (1 - sure) / 9
        probs[row, answer] = sure
    return Predictions(probs=probs, labels=np.array([0, 0, 1, 1, 2, 2]))


def test_accuracy_and_confusion(predictions):
    assert predictions.accuracy == pytest.approx(3 / 6)
    assert predictions.confusion[0].tolist()[:3] == [1, 1, 0]
    np.testing.assert_allclose(predictions.per_class_accuracy[:3], [0.5, 0.5, 0.5])


def test_mistakes_most_confident_first(predictions):
    assert select(predictions, mistakes_only=True).tolist() == [3, 1, 5]
    assert select(predictions, mistakes_only=True, sort="unsure").tolist() == [5, 1, 3]
    assert select(predictions, mistakes_only=True, sort="index").tolist() == [1, 3, 5]


def test_filter_by_true_and_predicted_class(predictions):
    assert select(predictions, true_class=1).tolist() == [3, 2]
    assert select(predictions, predicted_class=1, sort="index").tolist() == [1, 2, 5]
    assert select(predictions, true_class=2, predicted_class=1).tolist() == [5]
    assert select(predictions, true_class=2, predicted_class=0).tolist() == []


def test_unknown_sort_is_refused(predictions):
    with pytest.raises(ValueError, match="sort must be one of"):
        select(predictions, sort="random")


def test_pages():
    indices = np.arange(50)
    assert page(indices, 1, 24).tolist() == list(range(24))
    assert page(indices, 3, 24).tolist() == [48, 49]
    assert page(indices, 4, 24).tolist() == []
    assert [page_count(n, 24) for n in (0, 1, 24, 25)] == [1, 1, 1, 2]


def test_enlarge_repeats_pixels_and_scales_floats_to_bytes():
    image = np.array([[0.0, 1.0], [0.5, 0.0]], np.float32)
    big = enlarge(image, 3)
    assert big.shape == (6, 6) and big.dtype == np.uint8
    assert big[:3, 3:].min() == 255 and big[3:, :3].max() == 128


def test_png_keeps_every_pixel_of_an_rgb_picture():
    picture = np.random.default_rng(0).integers(0, 256, (35, 61, 3), dtype=np.uint8)
    decoded = Image.open(io.BytesIO(png(picture)))
    assert decoded.format == "PNG"
    np.testing.assert_array_equal(np.asarray(decoded), picture)
