"""Corruptions: each does what its name says, at the strength asked, the same way every time."""

from __future__ import annotations

import numpy as np
import pytest

from nn.core.data import subset
from nn.robustness.corruptions import CORRUPTIONS, accuracy_under_corruption, corrupt


@pytest.fixture(scope="module")
def digits(mnist):
    return subset(mnist.test_images, mnist.test_labels, 300, seed=0)


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_every_level_gives_digit_images_and_the_clean_level_changes_nothing(digits, kind) -> None:
    images = digits[0]
    for level in CORRUPTIONS[kind].levels:
        changed = corrupt(images, kind, level)
        assert changed.shape == images.shape and changed.dtype == np.uint8
        assert np.array_equal(changed, corrupt(images, kind, level)), "the same call, the same images"
        if level == CORRUPTIONS[kind].clean:
            assert np.array_equal(changed, images)
        else:
            assert not np.array_equal(changed, images)


def ink(images: np.ndarray) -> float:
    return float(images.astype(np.float64).sum())


def test_thicker_strokes_hold_more_ink_and_thinner_less(digits) -> None:
    images = digits[0]
    amounts = [ink(corrupt(images, "thickness", level)) for level in CORRUPTIONS["thickness"].levels]
    assert np.all(np.diff(amounts) > 0), amounts


def test_blur_keeps_the_ink_and_spreads_it(digits) -> None:
    images = digits[0]
    blurred = corrupt(images, "blur", 2.0)
    assert ink(blurred) == pytest.approx(ink(images), rel=0.01)  # a blur moves ink, it adds none
    assert blurred.max(axis=(1, 2)).mean() < 0.8 * images.max(axis=(1, 2)).mean()


def test_shifting_moves_the_centre_of_ink_by_the_distance_asked(digits) -> None:
    images = digits[0].astype(np.float64)
    rows, cols = np.indices((28, 28))

    def centre(batch):
        total = batch.sum(axis=(1, 2))
        return np.stack([(batch * rows).sum(axis=(1, 2)) / total, (batch * cols).sum(axis=(1, 2)) / total], 1)

    moved = corrupt(digits[0], "shift", 3).astype(np.float64)
    distance = np.linalg.norm(centre(moved) - centre(images), axis=1)
    assert np.median(distance) == pytest.approx(3, abs=0.2)


def test_scaling_changes_the_inked_area_by_the_square_of_the_zoom(digits) -> None:
    images = digits[0]
    area = lambda batch: float((batch > 127).sum())  # noqa: E731
    assert area(corrupt(images, "scale", 1.4)) / area(images) == pytest.approx(1.4**2, rel=0.15)
    assert area(corrupt(images, "scale", 0.7)) / area(images) == pytest.approx(0.7**2, rel=0.15)


def test_noise_has_the_standard_deviation_asked_where_it_is_not_clipped(digits) -> None:
    images = digits[0]
    noisy = corrupt(images, "noise", 0.1).astype(np.float64)
    middle = (noisy > 40) & (noisy < 215) & (images > 80) & (images < 175)
    assert np.std((noisy - images)[middle]) / 255 == pytest.approx(0.1, rel=0.15)


def test_rotation_turns_the_digit_by_the_angle_asked(digits) -> None:
    # A digit's principal axis turns with it: compare the axis angle before and after 30 degrees.
    def axis_angle(image):
        rows, cols = np.nonzero(image > 127)
        return np.degrees(np.arctan2(*np.linalg.eigh(np.cov(np.stack([rows, cols])))[1][:, -1]))

    ones = digits[0][digits[1] == 1][:10]  # long thin digits have a clear axis
    turned = corrupt(ones, "rotation", 30)
    change = [abs((axis_angle(b) - axis_angle(a) + 90) % 180 - 90) for a, b in zip(ones, turned)]
    assert np.median(change) == pytest.approx(30, abs=4)


def test_accuracy_is_clean_accuracy_at_the_clean_level_and_lower_at_the_strongest(
    shipped_model, digits
) -> None:
    images, labels = digits
    clean = shipped_model.score(images, labels)
    for kind, corruption in CORRUPTIONS.items():
        curve = accuracy_under_corruption(shipped_model, images, labels, kind)
        assert len(curve) == len(corruption.levels)
        assert curve[corruption.levels.index(corruption.clean)] == pytest.approx(clean)
        assert min(curve[0], curve[-1]) < clean - 0.01, kind  # scale's extremes are at both ends


def test_unknown_corruptions_and_wrong_images_are_refused(digits) -> None:
    with pytest.raises(ValueError, match="unknown corruption 'fog'"):
        corrupt(digits[0], "fog", 1)
    with pytest.raises(ValueError, match="expected uint8 images"):
        corrupt(digits[0] / 255, "blur", 1)
