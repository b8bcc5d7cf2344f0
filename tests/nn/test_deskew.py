"""Deskewing: digits stood upright by their moments, and a network that reads every image that way."""

from __future__ import annotations

import numpy as np
import pytest

from nn import MLP, ModelConfig, TrainConfig, load_model, save_model
from nn.core.deskew import deskew, slant
from nn.core.errors import ExportError
from nn.export import to_onnx


@pytest.fixture(scope="module")
def digits(mnist) -> np.ndarray:
    return mnist.test_images[:2000]


def test_deskewing_stands_digits_upright_centred_and_keeps_their_ink(digits) -> None:
    upright = deskew(digits)
    before, _, _ = slant(digits)
    after, rows, cols = slant(upright)
    assert np.mean(np.abs(before)) > 0.15 and np.mean(np.abs(after)) < 0.01
    assert np.abs(rows - 13.5).max() < 0.1 and np.abs(cols - 13.5).max() < 0.1
    ink = upright.sum(axis=(1, 2)) / digits.sum(axis=(1, 2))
    assert 0.97 < np.median(ink) < 1.03
    assert np.array_equal(deskew(np.zeros((3, 28, 28), np.uint8)), np.zeros((3, 28, 28), np.uint8))


def test_a_slanted_bar_is_stood_upright() -> None:
    bar = np.zeros((1, 28, 28), np.uint8)
    for row in range(6, 22):
        bar[0, row, 8 + row // 2 : 11 + row // 2] = 255  # half a column right per row down
    assert slant(bar)[0][0] == pytest.approx(0.5, abs=0.05)
    upright = deskew(bar)[0]
    columns = [np.average(np.arange(28), weights=upright[row]) for row in range(8, 20) if upright[row].any()]
    assert np.ptp(columns) < 1.0  # the bar's column no longer drifts


def deskewing_copy(model: MLP) -> MLP:
    copy = MLP.from_config(ModelConfig(**{**model.config.__dict__, "prepare": "deskew"}))
    copy.params[...] = model.params
    return copy


def test_a_deskewing_network_reads_every_image_deskewed(trained_model, digits, mnist) -> None:
    reader = deskewing_copy(trained_model)
    labels = mnist.test_labels[:2000]
    np.testing.assert_array_equal(reader.predict_proba(digits), trained_model.predict_proba(deskew(digits)))
    assert reader.score(digits, labels) == trained_model.score(deskew(digits), labels)
    floats = digits / 255.0  # a page's image, in [0, 1]
    np.testing.assert_allclose(reader.predict_proba(floats), reader.predict_proba(digits), atol=1e-6)
    gradient, _ = reader.input_gradient(digits[:5], labels[:5])
    expected, _ = trained_model.input_gradient(deskew(digits[:5]), labels[:5])
    np.testing.assert_array_equal(gradient, expected)


def test_a_deskewing_network_trains_on_deskewed_digits_and_keeps_the_choice_in_its_file(
    mnist, tmp_path
) -> None:
    images, labels = mnist.train_images[:5000], mnist.train_labels[:5000]
    config = TrainConfig(epochs=3, augment="affine")
    plain = MLP(hidden=(64,), seed=1).fit(images, labels, config)
    upright = MLP(hidden=(64,), seed=1, prepare="deskew").fit(images, labels, config)
    test = (mnist.test_images, mnist.test_labels)
    assert upright.score(*test) > plain.score(*test)  # LeCun et al.: deskewing helps an MLP
    loaded = load_model(save_model(upright, tmp_path / "upright.npz"))
    assert loaded.deskews and loaded.config == upright.config
    np.testing.assert_array_equal(
        loaded.predict_proba(mnist.test_images[:100]), upright.predict_proba(mnist.test_images[:100])
    )
    assert repr(loaded).endswith("deskewed)")


def test_exports_refuse_a_deskewing_network_in_words(trained_model) -> None:
    with pytest.raises(ExportError, match="deskews every image before reading it"):
        to_onnx.to_onnx(deskewing_copy(trained_model))
