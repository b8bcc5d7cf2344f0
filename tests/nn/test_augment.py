"""Data augmentation: distorted digits stay digits — same shape, ink in the frame, same class."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from nn import MLP
from nn.core.augment import RECIPES, STEADY_SHARE, _elastic_displacement, change_thickness, distort, recipe
from nn.core.config import AUGMENTATIONS, TrainConfig
from nn.core.data import MNIST
from nn.core.preprocess import mnist_style
from nn.core.training import EpochEnd, train
from nn.robustness.corruptions import corrupt

KINDS = [kind for kind in AUGMENTATIONS if kind != "none"]
GEOMETRIC = ["affine", "elastic", "pen"]  # they move the ink; the others change how it looks
STEADINESS = ["noise", "blur", "stroke"]
SHAPE = ["narrow"]  # moves the ink too, but leaves the widest digits almost as they were
SAMPLE = 2000


@pytest.fixture(scope="module")
def digits(mnist: MNIST) -> tuple[np.ndarray, np.ndarray]:
    return mnist.test_images[:SAMPLE], mnist.test_labels[:SAMPLE]


def test_every_configurable_kind_has_a_recipe() -> None:
    assert set(KINDS) == set(RECIPES) == set(GEOMETRIC + STEADINESS + SHAPE)


def test_recipes_combine_by_name_each_strength_the_larger() -> None:
    combined = recipe("pen+noise+blur")
    assert combined == replace(RECIPES["pen"], noise=0.5, blur_sigma=2.0)
    assert recipe("noise+affine") == replace(RECIPES["affine"], noise=0.5)
    for bad in ("noise+noise", "none+affine", "affine+", "wobble"):
        with pytest.raises(ValueError, match="joined by"):
            recipe(bad)
    assert TrainConfig(augment="elastic+stroke").problems() == {}
    assert "joined by +" in TrainConfig(augment="affine+affine").problems()["augment"]


def test_noise_adds_gaussian_noise_of_up_to_its_strength_to_a_share_of_the_images(digits) -> None:
    images, _ = digits
    out = distort(images, np.random.default_rng(0), "noise").astype(float) / 255
    background = images == 0  # only the noise that adds ink survives the clip there: E[x²] = σ²/2
    sigma = np.array([np.sqrt(2 * np.mean(o[m] ** 2)) for o, m in zip(out, background)])
    noisy = sigma[sigma > 0]
    assert len(noisy) / len(sigma) == pytest.approx(STEADY_SHARE, abs=0.04), "the share it reaches"
    assert noisy.max() < 0.5 * 1.1 and 0.2 < np.median(noisy) < 0.3  # uniform in [0, 0.5]


def test_blur_and_stroke_vary_per_image_within_their_strengths_on_a_share_of_them(digits) -> None:
    images, _ = digits
    peak = images.max(axis=(1, 2)).astype(int)
    blurred = distort(images, np.random.default_rng(0), "blur")
    changed = np.any(blurred != images, axis=(1, 2))
    assert changed.mean() == pytest.approx(STEADY_SHARE, abs=0.04), "the share it reaches"
    blurred_peak = blurred[changed].max(axis=(1, 2)).astype(int)
    blurriest = corrupt(images[changed], "blur", 2.0).max(axis=(1, 2)).astype(int)  # the strongest it draws
    assert np.all(blurred_peak >= blurriest - 1) and np.all(blurred_peak <= peak[changed])
    assert np.mean(blurred_peak < 0.8 * peak[changed]) > 0.25
    thicker = distort(images, np.random.default_rng(1), "stroke").astype(float).sum(axis=(1, 2))
    ratio = thicker / images.sum(axis=(1, 2))
    assert np.mean(ratio != 1) == pytest.approx(STEADY_SHARE, abs=0.04)
    assert ratio.min() < 0.7 and ratio.max() > 1.4  # up to a pixel thinner, or thicker


def test_narrow_squeezes_a_share_of_the_digits_sideways_by_up_to_half_and_keeps_their_height(digits) -> None:
    images, _ = digits
    out = distort(images, np.random.default_rng(0), "narrow")
    changed = np.any(out != images, axis=(1, 2))
    assert changed.mean() == pytest.approx(STEADY_SHARE, abs=0.04)
    width = _spread(out, axis=1)[changed] / _spread(images, axis=1)[changed]
    height = _spread(out, axis=2) / _spread(images, axis=2)
    assert width.min() > 0.35 and width.max() < 1.05 and 0.7 < np.median(width) < 0.8
    assert np.abs(height - 1).max() < 0.05 and np.abs(np.median(height) - 1) < 0.01


def _spread(images: np.ndarray, axis: int) -> np.ndarray:
    """The ink's standard deviation across columns (axis 1 summed away) or rows (axis 2), per image."""
    mass = images.astype(float).sum(axis=axis)
    where = np.arange(28)
    mean = (mass * where).sum(axis=1) / mass.sum(axis=1)
    return np.sqrt((mass * (where - mean[:, None]) ** 2).sum(axis=1) / mass.sum(axis=1))


@pytest.mark.parametrize("kind", KINDS)
def test_keeps_shape_dtype_and_range(digits, kind: str) -> None:
    images, _ = digits
    out = distort(images, np.random.default_rng(0), kind)
    assert out.shape == images.shape and out.dtype == np.uint8
    assert out.max() > 200 and out.min() == 0  # still full-contrast ink on a blank background
    assert not np.shares_memory(out, images)


def test_none_returns_the_images_untouched(digits) -> None:
    images, _ = digits
    assert distort(images, np.random.default_rng(0), "none") is images


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_distortion_other_seed_other_distortion(digits, kind: str) -> None:
    images, _ = digits
    first = distort(images, np.random.default_rng(7), kind)
    assert np.array_equal(first, distort(images, np.random.default_rng(7), kind))
    assert not np.array_equal(first, distort(images, np.random.default_rng(8), kind))


@pytest.mark.parametrize("kind", GEOMETRIC)
def test_actually_changes_almost_every_image(digits, kind: str) -> None:
    images, _ = digits
    out = distort(images, np.random.default_rng(0), kind)
    changed = np.abs(out.astype(int) - images).reshape(len(images), -1).sum(axis=1)
    assert np.mean(changed > 255 * 10) > 0.95  # more than ten pixels' worth of ink moved


@pytest.mark.parametrize("kind", GEOMETRIC)
def test_ink_stays_in_the_frame_and_near_the_centre(digits, kind: str) -> None:
    images, _ = digits
    out = distort(images, np.random.default_rng(0), kind).astype(float)
    ink_ratio = out.sum(axis=(1, 2)) / images.sum(axis=(1, 2))
    # Zoom, stretching and stroke width all change the amount of ink, by up to about half;
    # a digit pushed out of the frame would lose far more.
    assert 0.9 < np.median(ink_ratio) < 1.1
    assert np.mean(ink_ratio > 0.3) > 0.99
    edge = out.copy()
    edge[:, 1:-1, 1:-1] = 0  # the outermost pixels: ink there may have been cut off
    assert edge.sum() / out.sum() < 0.01
    assert np.mean(edge.sum(axis=(1, 2)) / out.sum(axis=(1, 2)) > 0.05) < 0.03
    rows = (out.sum(axis=2) * np.arange(28)).sum(axis=1) / out.sum(axis=(1, 2))
    assert np.mean(np.abs(rows - 13.5) < 4) > 0.98


@pytest.mark.parametrize("kind", GEOMETRIC + SHAPE)
def test_distorted_digits_keep_their_class(trained_model: MLP, digits, kind: str) -> None:
    """A network that never saw a distorted digit still reads most of them correctly.

    Each digit is first re-centred and re-sized the way the app prepares a drawn digit, since
    a network trained on centred digits only is thrown by shifts alone; what is left to get
    past it are the rotations, shears, wobbles and pens.
    """
    images, labels = digits[0][:1000], digits[1][:1000]
    clean = trained_model.score(_as_drawn(images), labels)
    distorted = trained_model.score(_as_drawn(distort(images, np.random.default_rng(0), kind)), labels)
    assert clean > 0.9
    assert distorted > clean - 0.08, f"{kind}: {distorted:.3f} on distorted vs {clean:.3f} on clean digits"


def _as_drawn(images: np.ndarray) -> np.ndarray:
    return np.stack([mnist_style(image) for image in images])


def test_elastic_field_matches_simards_direct_construction() -> None:
    """The eigenbasis shortcut gives the same random field as smoothing per-pixel noise."""
    rng = np.random.default_rng(0)
    ours = _elastic_displacement(2000, rng, alpha=34.0, sigma=4.0).reshape(4000, 28, 28)
    offsets = np.arange(28)[:, None] - np.arange(28)[None, :]
    gaussian = np.exp(-0.5 * (offsets / 4.0) ** 2) / (4.0 * np.sqrt(2 * np.pi))
    noise = rng.uniform(-1, 1, (4000, 28, 28))
    direct = 34.0 * gaussian @ noise @ gaussian.T
    for position in [(14, 14), (0, 0), (3, 20)]:
        ours_std, direct_std = (
            ours[:, position[0], position[1]].std(),
            direct[:, position[0], position[1]].std(),
        )
        assert ours_std == pytest.approx(direct_std, rel=0.08), position
    for lag in (1, 3, 8):
        ours_corr = np.corrcoef(ours[:, 14, 10], ours[:, 14, 10 + lag])[0, 1]
        direct_corr = np.corrcoef(direct[:, 14, 10], direct[:, 14, 10 + lag])[0, 1]
        assert ours_corr == pytest.approx(direct_corr, abs=0.05), lag


def test_thickness_thickens_and_thins_strokes(digits) -> None:
    images, _ = digits
    pixels = images[:100].astype(np.float32)
    ink = pixels.sum()
    thicker = change_thickness(pixels, np.full(100, 1.0)).sum()
    thinner = change_thickness(pixels, np.full(100, -1.0)).sum()
    assert thicker > 1.3 * ink and thinner < 0.7 * ink
    assert np.allclose(change_thickness(pixels, np.full(100, -1e-9)), pixels, atol=1e-3)


def test_rejects_unknown_kinds_and_wrong_images(digits) -> None:
    images, _ = digits
    with pytest.raises(ValueError, match="unknown augmentation 'mirror'"):
        distort(images, np.random.default_rng(0), "mirror")
    with pytest.raises(ValueError, match="uint8 images"):
        distort(images.astype(np.float32), np.random.default_rng(0), "affine")
    with pytest.raises(ValueError, match=r"shape \(N, 28, 28\)"):
        distort(images.reshape(len(images), -1), np.random.default_rng(0), "affine")


def test_training_with_augmentation_learns(mnist: MNIST) -> None:
    """The training loop's call into augmentation works end to end and the network still learns."""
    config = TrainConfig(epochs=2, train_size=5000, batch_size=64, augment="affine")
    model = MLP((128, 64), seed=0)
    images, labels = mnist.train_images[:5000], mnist.train_labels[:5000]
    ends = [e for e in train(model, images, labels, config) if isinstance(e, EpochEnd)]
    assert len(ends) == 2
    assert model.score(mnist.test_images[:SAMPLE], mnist.test_labels[:SAMPLE]) > 0.85
