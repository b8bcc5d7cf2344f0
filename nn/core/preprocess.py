"""Turning a photo, scan or canvas drawing of one digit into the 28×28 input MNIST was made of.

MNIST's digits were size-normalised to fit a 20×20 box (keeping their aspect ratio, with
anti-aliasing) and then placed in a 28×28 image so that their centre of mass sits at the
centre. A network trained on them expects exactly that, so any other digit has to go through
the same steps. One more step helps digits from thick pens or soft brushes: they carry far
more ink than MNIST's, so their stroke is thinned (a gamma curve) until the total ink is close
to MNIST's average of about 102 (pixel values 0–1 summed over the 28×28 image).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import EmptyImageError, ImageError

BOX, SIZE = 20, 28
MNIST_MEAN_INK = 102.0
INK_THRESHOLD = 0.1  # pixels fainter than this are paper, not ink
# Ink spanning less than 3 % of the picture (and under 3 px) is a speck of dust or a stray
# click: blown up to 20 px it would be a solid square and get a confident, meaningless label.
MIN_EXTENT_FRACTION, MIN_EXTENT_PIXELS = 0.03, 3
MAX_IMAGE_PIXELS = 40_000_000
LARGE_PICTURE = 100  # pixels on the shorter side: from here on, ink narrower than 3 px is a speck
GRAINY = 0.25  # paper has grain when more than this share of the picture holds any ink at all


def to_ink(image: np.ndarray) -> np.ndarray:
    """Grayscale float image in [0, 1] where 1 is the strongest ink and 0 the paper, from gray,
    RGB or RGBA, either polarity.

    In a mostly transparent RGBA image the opaque pixels are the ink. Otherwise whether the ink
    is dark on light or light on dark is read from the background, i.e. the image's median: a
    digit covers far less than half of its picture.
    """
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] in (3, 4):
        rgb = image[..., :3].astype(np.float32)
        gray = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
        alpha = image[..., 3].astype(np.float32) / _full_scale(image) if image.shape[2] == 4 else None
    elif image.ndim == 2:
        gray, alpha = image.astype(np.float32), None
    else:
        raise ImageError(f"expected a grayscale, RGB or RGBA image, got an array of shape {image.shape}")
    if gray.size == 0:
        raise ImageError("the image has no pixels")
    gray /= _full_scale(image)
    if alpha is not None and np.median(alpha) < 0.5:
        return alpha  # on a transparent background the opaque pixels are the ink, any colour
    background = float(np.median(gray))
    if background > 0.5:
        return _paper_to_zero(1.0 - gray, paper=1.0 - background)
    return _paper_to_zero(gray, paper=background)


def _paper_to_zero(ink: np.ndarray, paper: float) -> np.ndarray:
    """Ink measured from the paper's own shade (the image's median) up to the strongest stroke.

    A scan or photo has grey paper and grey pencil: read as they are, the paper is faint ink
    everywhere, so the crop takes the whole sheet and the digit shrinks to a smudge. A canvas's
    black background and white strokes stay exactly as they were. An image with no contrast
    to speak of is not stretched, so that a blank photo stays blank instead of its grain becoming
    ink.
    """
    contrast = float(ink.max()) - paper
    return np.clip((ink - paper) / (contrast if contrast >= INK_THRESHOLD else 1.0), 0.0, 1.0)


def mnist_style(image: np.ndarray, match_ink: bool = True) -> np.ndarray:
    """The (28, 28) float32 input in [0, 1] for one digit image, prepared as MNIST was.

    Raises `EmptyImageError` when there is no ink to classify.
    """
    ink = to_ink(image)
    rows, cols = np.nonzero(_strokes(ink))
    if len(rows) == 0:
        raise EmptyImageError("the image is empty: there is no digit to classify")
    extent = max(rows.max() - rows.min(), cols.max() - cols.min()) + 1
    if extent < max(MIN_EXTENT_PIXELS, MIN_EXTENT_FRACTION * max(ink.shape)):
        raise EmptyImageError(f"the only ink is a speck {extent} px across: there is no digit to classify")
    crop = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    digit = _fit_box(crop)
    if match_ink:
        digit = _thin_to_mnist_ink(digit)
    return _centre_of_mass_paste(digit)


def load_image(path: str | Path) -> np.ndarray:
    """Pixels of an image file as an array (gray, RGB or RGBA), or `ImageError`."""
    try:
        with Image.open(path) as img:
            if img.width * img.height > MAX_IMAGE_PIXELS:
                raise ImageError(f"{path}: {img.width}×{img.height} is too large for a digit image")
            upright = ImageOps.exif_transpose(img)  # phone photos store their rotation in EXIF
            mode = "RGBA" if "A" in img.getbands() or img.mode == "P" else "L"
            return np.asarray(upright.convert(mode))
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except Image.DecompressionBombError as exc:  # PIL refuses these itself, before our own limit
        raise ImageError(f"{path}: too large for a digit image ({exc})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{path}: not a readable image ({exc})") from None


def _strokes(ink: np.ndarray) -> np.ndarray:
    """Where the ink is, without a large picture's specks of grain, dust or JPEG noise.

    A speck outside the digit would stretch the crop, and the digit would shrink to fit it. On
    a picture of `LARGE_PICTURE` pixels or more a pen's stroke is wider than three pixels, so
    what a 3×3 opening removes is not a stroke. Only paper with grain has specks: where most of
    the picture is exactly blank, as on the canvas, the ink is left exactly as it is. A picture
    whose only ink is such specks keeps them, to be refused as a speck.
    """
    mask = ink > INK_THRESHOLD
    if min(mask.shape) < LARGE_PICTURE or np.count_nonzero(ink) < GRAINY * ink.size:
        return mask
    opened = _over_3x3(_over_3x3(mask, np.logical_and), np.logical_or)  # erosion, then dilation
    return opened if opened.any() else mask


def _over_3x3(mask: np.ndarray, combine: np.ufunc) -> np.ndarray:
    """`combine` (and: erosion, or: dilation) of each pixel's 3×3 neighbourhood; off the edge is no ink."""
    h, w = mask.shape
    padded = np.pad(mask, 1)
    out = padded[:h, :w].copy()
    for dr, dc in np.ndindex(3, 3):
        combine(out, padded[dr : dr + h, dc : dc + w], out=out)
    return out


def _full_scale(image: np.ndarray) -> float:
    return 255.0 if image.dtype == np.uint8 else 65535.0 if image.dtype == np.uint16 else 1.0


def _fit_box(crop: np.ndarray) -> np.ndarray:
    h, w = crop.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    # Shrinking averages (anti-aliasing); enlarging a tiny digit keeps edges crisp with bicubic.
    resample = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC
    resized = Image.fromarray(crop.astype(np.float32), mode="F").resize(size, resample)
    return np.clip(np.asarray(resized), 0.0, 1.0)


def _thin_to_mnist_ink(digit: np.ndarray) -> np.ndarray:
    """Raise the digit to the gamma that brings its total ink down to MNIST's mean.

    Ink in [0, 1] raised to γ ≥ 1 darkens the soft edges of a stroke far more than its core,
    so a thick stroke thins while a thin one (already at or under MNIST's ink) is left alone.
    """
    if digit.sum() <= MNIST_MEAN_INK:
        return digit
    low, high = 1.0, 16.0
    for _ in range(30):  # bisection: total ink falls monotonically as γ grows
        gamma = (low + high) / 2
        low, high = (gamma, high) if (digit**gamma).sum() > MNIST_MEAN_INK else (low, gamma)
    return digit**high


def _centre_of_mass_paste(digit: np.ndarray) -> np.ndarray:
    h, w = digit.shape
    total = digit.sum()
    com_row = (digit.sum(axis=1) @ np.arange(h)) / total
    com_col = (digit.sum(axis=0) @ np.arange(w)) / total
    top = int(np.clip(round((SIZE - 1) / 2 - com_row), 0, SIZE - h))
    left = int(np.clip(round((SIZE - 1) / 2 - com_col), 0, SIZE - w))
    out = np.zeros((SIZE, SIZE), np.float32)
    out[top : top + h, left : left + w] = digit
    return out
