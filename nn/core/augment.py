"""Random distortions of training images, fresh every epoch, vectorised over the whole batch.

A network that only ever sees MNIST's 60,000 images as they are learns those images; one that
sees each digit slightly rotated, stretched, sheared, wobbled or written with a different pen
every epoch has to learn what a *digit* looks like. This is how pure MLPs went from 98.4 % to
99.3 % on MNIST (Simard et al. 2003), and it also makes digits drawn by other people on other
devices read better.

Every distortion is a map from each output pixel to a point in the source image, read there by
bilinear interpolation:

- **affine** — rotation, scale, shear and shift: one 2×3 matrix per image.
- **elastic** (Simard et al. 2003) — on top of the affine map, a random displacement per pixel,
  smoothed by a Gaussian so that neighbouring pixels move together: the wobble of a hand.
  The smoothing is two small matrix products per field, done as one stacked product for
  thousands of images rather than a convolution per image (see `_elastic_displacement`).
- **pen** — the affine map, then a random stroke thickness (a partial grey dilation or erosion)
  and a mild blur: other pens, other scanners.
- **noise**, **blur**, **stroke** — no affine map: Gaussian pixel noise, a Gaussian blur of up
  to 2 px, a stroke up to a pixel thicker or thinner, each of random strength on a random
  quarter of the images (`STEADY_SHARE`). They teach steadiness under what the Robustness page
  measures, and are meant to be combined.
- **narrow** — no affine map: a random quarter of the digits squeezed sideways to between half
  and all of their width, as narrow hands write.

Recipes combine by joining their names with "+" ("affine+noise+blur"): each strength is then
the larger of the recipes' (`Distortion.__add__`).

Elastic distortion gives the best MNIST scores in the literature, but on small networks it read
digits from other sources worse than affine alone (font digits, `bench.foreign_digits`; other
people's handwriting, ../shared/notes/handwriting.md), and varying the pen won part of that back.
On 784-1600-800-10 elastic distortion reads them well, and narrowing a quarter of the digits reads
narrow hands and fonts better still: the app's model is trained with "elastic+noise+blur+narrow"
(bench/RESULTS.md).

Images are processed in chunks so that memory stays bounded for any number of them.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import astuple, dataclass, replace

import numpy as np

from .config import COMBINED_BY

SIZE = 28
PAD = 2  # zero border: a source point more than a pixel off the image reads as background
BLOCK = 4096  # images per draw of random parameters and elastic fields
CHUNK = 256  # images per sampling step: its working arrays stay in the CPU cache
# Noise, blur, stroke changes and narrowing reach only this share of the images: on every image
# they cost clean accuracy and the reading of drawn digits (784-1600-800-10 with noise and blur
# on all: validation 99.15 % against 99.25 %, drawn digits 0.93 against 0.95).
STEADY_SHARE = 0.25


@dataclass(frozen=True)
class Distortion:
    """How strongly each random distortion is applied; zero turns one off."""

    degrees: float = 15.0  # rotation, uniform in ±degrees
    scale: float = 0.15  # zoom, uniform in 1 ± scale
    shear: float = 0.3  # horizontal shear factor, uniform in ±shear
    shift: float = 2.0  # pixels, uniform in ±shift along each axis
    elastic_alpha: float = 0.0  # elastic displacement scale in pixels (Simard: 34; Cireşan: 36)
    elastic_sigma: float = 6.0  # smoothness of the displacement field in pixels (Simard: 4; Cireşan: 6)
    thickness: float = 0.0  # stroke thickness change, a dilation/erosion weight in ±thickness
    blur: float = 0.0  # blur weight, uniform in [0, blur]
    # These last four reach only a `STEADY_SHARE` of the images.
    stroke: float = 0.0  # pixels added to or taken off the stroke, uniform in ±stroke
    blur_sigma: float = 0.0  # a Gaussian blur's σ in pixels, uniform in [0, blur_sigma]
    noise: float = 0.0  # Gaussian noise's σ on the 0–1 ink scale, uniform in [0, noise]
    narrow: float = 0.0  # the width times a factor uniform in [1 − narrow, 1], the height kept

    def __add__(self, other: Distortion) -> Distortion:
        """Both at once: each strength the larger of the two."""
        return Distortion(*(max(a, b) for a, b in zip(astuple(self), astuple(other))))


NO_AFFINE = Distortion(degrees=0.0, scale=0.0, shear=0.0, shift=0.0)


# The names the configuration offers (`nn.core.config.AUGMENTATIONS`), each a recipe.
RECIPES: dict[str, Distortion] = {
    "affine": Distortion(),
    # Simard's α=34, σ=4 was meant to be used alone: on top of the affine map it left twice as
    # many digits unreadable to a network trained on clean ones (23 % against 12 %, after
    # re-centring). Cireşan et al. (2010), who combined the two, used the smoother σ=6, α=36.
    "elastic": Distortion(elastic_alpha=36.0, elastic_sigma=6.0),
    "pen": Distortion(thickness=0.7, blur=0.5),
    # For steadiness: what the Robustness page measures, drawn at random up to most of its range.
    "noise": replace(NO_AFFINE, noise=0.5),
    "blur": replace(NO_AFFINE, blur_sigma=2.0),
    "stroke": replace(NO_AFFINE, stroke=1.0),
    # Narrow hands: MNIST's preparation keeps a digit's aspect ratio, and a digit drawn half as
    # wide as MNIST's typical one was misread several times as often as an upright one
    # (bench.drawn_digits).
    "narrow": replace(NO_AFFINE, narrow=0.5),
}


def recipe(kind: str) -> Distortion:
    """The distortion a name or a combination of names ("elastic+noise") stands for."""
    names = kind.split(COMBINED_BY)
    unknown = [name for name in names if name not in RECIPES]
    if unknown or len(set(names)) != len(names):
        raise ValueError(
            f"unknown augmentation {kind!r}; choose none, or one or more of {', '.join(RECIPES)} joined by +"
        )
    return functools.reduce(operator.add, (RECIPES[name] for name in names))


def distort(images: np.ndarray, rng: np.random.Generator, kind: str) -> np.ndarray:
    """Randomly distorted copies of uint8 images (N, 28, 28), as uint8; "none" returns them as they are.

    Every draw comes from `rng`, so the same generator state gives the same distortions.
    """
    if kind == "none":
        return images
    distortion = recipe(kind)
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (SIZE, SIZE) or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images of shape (N, 28, 28), got {images.dtype} {images.shape}")
    out = np.empty_like(images)
    for start in range(0, len(images), BLOCK):
        block = slice(start, start + BLOCK)
        _distort_block(images[block], rng, distortion, out[block])
    return out


def _distort_block(images: np.ndarray, rng: np.random.Generator, recipe: Distortion, out: np.ndarray) -> None:
    n = len(images)
    coords = _affine_coordinates(n, rng, recipe)
    if recipe.elastic_alpha:
        coords += _elastic_displacement(n, rng, recipe.elastic_alpha, recipe.elastic_sigma)
    if recipe.narrow:
        width = (1 - _on_some(rng.uniform(0, recipe.narrow, n), rng)).astype(np.float32)
        # Each output column reads a source column 1/width as far from the centre: a narrower digit.
        coords[:, 1] = (coords[:, 1] - (SIZE - 1) / 2) / width[:, None] + (SIZE - 1) / 2
    thickness = rng.uniform(-recipe.thickness, recipe.thickness, n)
    blurring = rng.uniform(0.0, recipe.blur, n)
    # The new strengths are drawn only when asked for, so that the older recipes draw exactly
    # what they always drew: the same seed still gives the same images, and the same runs.
    stroke = _on_some(rng.uniform(-recipe.stroke, recipe.stroke, n), rng) if recipe.stroke else None
    sigma = _on_some(rng.uniform(0.0, recipe.blur_sigma, n), rng) if recipe.blur_sigma else None
    noise = _on_some(rng.uniform(0.0, recipe.noise, n), rng) if recipe.noise else None
    for start in range(0, n, CHUNK):
        chunk = slice(start, start + CHUNK)
        pixels = bilinear(images[chunk], coords[chunk])
        if recipe.thickness:
            pixels = change_thickness(pixels, thickness[chunk])
        if recipe.blur:
            pixels = blur(pixels, blurring[chunk])
        if stroke is not None:
            pixels = thicken(pixels, stroke[chunk])
        if sigma is not None:
            pixels = gaussian_blur(pixels, sigma[chunk])
        if noise is not None:
            pixels = add_noise(pixels, noise[chunk], rng)
        # Every step blends pixel values or clips them, so they stay within 0–255.
        pixels += 0.5  # round to nearest on the cast below
        out[chunk] = pixels


def _affine_coordinates(n: int, rng: np.random.Generator, recipe: Distortion) -> np.ndarray:
    """Source coordinates of every output pixel under random affine maps drawn from `recipe`."""
    angle = np.deg2rad(rng.uniform(-recipe.degrees, recipe.degrees, n))
    zoom = rng.uniform(1 - recipe.scale, 1 + recipe.scale, n)
    shear = rng.uniform(-recipe.shear, recipe.shear, n)
    shift = rng.uniform(-recipe.shift, recipe.shift, (n, 2))
    return affine_coordinates(angle, zoom, shear, shift)


def affine_coordinates(
    angle: np.ndarray, zoom: np.ndarray, shear: np.ndarray, shift: np.ndarray
) -> np.ndarray:
    """Source (row, col) of every output pixel, (n, 2, 28·28) float32, under the given affine maps.

    Per image: `angle` in radians, `zoom` (>1 enlarges), horizontal `shear`, `shift` (n, 2) in
    pixels (down, right). The map goes from output to source (its inverse is never needed) about
    the image centre, so rotating or zooming keeps the digit in place:
    source = A·(p − centre) + centre − shift, A = shear · rotation / zoom. Each source coordinate
    is a row term plus a column term, so the grid is one broadcast sum rather than a matrix product.
    """
    cos, sin = np.cos(angle) / zoom, np.sin(angle) / zoom
    from_row = np.stack((cos, sin + shear * cos), axis=1)  # (n, 2): d source / d output row
    from_col = np.stack((-sin, cos - shear * sin), axis=1)  # (n, 2): d source / d output col
    offset = (SIZE - 1) / 2 - shift
    row_terms = (from_row[:, :, None] * _AXIS).astype(np.float32)
    col_terms = (from_col[:, :, None] * _AXIS + offset[:, :, None]).astype(np.float32)
    coords = row_terms[:, :, :, None] + col_terms[:, :, None, :]
    return coords.reshape(len(angle), 2, SIZE * SIZE)


def _elastic_displacement(n: int, rng: np.random.Generator, alpha: float, sigma: float) -> np.ndarray:
    """Smooth random displacements (n, 2, 28·28) in pixels, as in Simard et al. 2003.

    Their field is per-pixel noise N smoothed by a Gaussian along each axis, G·N·Gᵀ, times
    alpha. G is symmetric, G = U·S·Uᵀ, and Uᵀ·N·U is again independent noise when N is Gaussian,
    so the same field is B·Z·Bᵀ with B = U·S and Z a small noise matrix. S falls off so fast
    that a handful of columns of B carry all but 0.01 % of the field's variance (six for σ=6):
    a few dozen random numbers per field instead of 784, and two small matrix products.
    (Simard's noise is uniform in ±1; after smoothing over hundreds of pixels the field is
    Gaussian either way, so Z is Gaussian with the same variance, 1/3.)
    """
    basis = _smoothing_basis(sigma)
    k = basis.shape[1]
    z = rng.standard_normal((2 * n, k, k), np.float32)
    z *= np.float32(alpha / np.sqrt(3.0))
    # Stacks of small products: OpenBLAS runs each on one thread, where one large thin product
    # would wake its thread pool, which stalls badly on a busy machine.
    half = np.matmul(z, basis.T)  # Z·Bᵀ, (2n, k, 28)
    field = np.matmul(half.transpose(0, 2, 1), basis.T)  # (Z·Bᵀ)ᵀ·Bᵀ = B·Zᵀ·Bᵀ, and Zᵀ is as random as Z
    return field.reshape(n, 2, SIZE * SIZE)


@functools.lru_cache(maxsize=8)
def _smoothing_basis(sigma: float) -> np.ndarray:
    """B = U·S, truncated: the columns of the Gaussian smoothing matrix's eigenbasis that matter."""
    offsets = np.arange(SIZE)[:, None] - np.arange(SIZE)[None, :]
    # beyond the border the field counts as zero, as in Simard et al.
    gaussian = np.exp(-0.5 * (offsets / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
    values, vectors = np.linalg.eigh(gaussian)
    order = np.argsort(-np.abs(values))
    values, vectors = values[order], vectors[:, order]
    share = np.cumsum(values**2) ** 2 / np.sum(values**2) ** 2  # of the field's variance
    k = int(np.searchsorted(share, 1 - 1e-4)) + 1
    return (vectors[:, :k] * values[:k]).astype(np.float32)


def bilinear(images: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Images (n, 28, 28) uint8 read at `coords` (n, 2, 28·28): (n, 28, 28) float32 in 0–255.

    The four neighbours of each pixel are packed into one uint32 beforehand, so each output
    pixel costs one gather instead of four.
    """
    n = len(images)
    padded = np.zeros((n, SIZE + 2 * PAD + 1, SIZE + 2 * PAD + 1), np.uint8)
    padded[:, PAD : PAD + SIZE, PAD : PAD + SIZE] = images
    side = SIZE + 2 * PAD
    quads = np.stack(
        (padded[:, :-1, :-1], padded[:, :-1, 1:], padded[:, 1:, :-1], padded[:, 1:, 1:]), axis=-1
    ).view(np.uint32)[..., 0]
    np.clip(coords, -PAD, side - 1 - PAD, out=coords)  # past the image by a pixel or more reads zeros
    whole = np.floor(coords)
    coords -= whole
    index = whole[:, 0] * side
    index += whole[:, 1]
    index += (np.arange(n, dtype=np.float32) * side * side + PAD * side + PAD)[:, None]
    index = index.astype(np.int32)  # exact: whole numbers below 2**24 in float32
    corners = quads.reshape(-1)[index].view(np.uint8).reshape(n, SIZE * SIZE, 4).astype(np.float32)
    row, col = coords[:, 0], coords[:, 1]
    top = corners[..., 1] - corners[..., 0]
    top *= col
    top += corners[..., 0]
    bottom = corners[..., 3] - corners[..., 2]
    bottom *= col
    bottom += corners[..., 2]
    bottom -= top
    bottom *= row
    top += bottom
    return top.reshape(n, SIZE, SIZE)


def change_thickness(pixels: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """Thicker strokes for positive `amount` (per image), thinner for negative.

    A grey dilation (erosion) takes the brightest (darkest) of each pixel and its four
    neighbours; blending towards it by |amount| moves the stroke's edges by a fraction of a
    pixel. Erosion is dilation of the negated image, so one pass of maxima does both.
    """
    sign = np.where(amount > 0, 1, -1).astype(np.float32)[:, None, None]
    signed = np.pad(pixels * sign, ((0, 0), (1, 1), (1, 1)), constant_values=0.0)
    target = signed[:, 1:-1, 1:-1].copy()
    for shifted in (signed[:, :-2, 1:-1], signed[:, 2:, 1:-1], signed[:, 1:-1, :-2], signed[:, 1:-1, 2:]):
        np.maximum(target, shifted, out=target)
    target *= sign
    target -= pixels
    target *= np.abs(amount).astype(np.float32)[:, None, None]
    return target + pixels


def _on_some(strengths: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The strengths, on a random `STEADY_SHARE` of the images and zero on the others."""
    return np.where(rng.random(len(strengths)) < STEADY_SHARE, strengths, 0.0)


def blur(pixels: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """Blend each image towards its [1 2 1]/4 × [1 2 1]/4 blur by its `amount`."""
    padded = np.pad(pixels, ((0, 0), (1, 1), (1, 1)))
    rows = padded[:, :-2] + 2 * padded[:, 1:-1] + padded[:, 2:]
    blurred = (rows[:, :, :-2] + 2 * rows[:, :, 1:-1] + rows[:, :, 2:]) / 16
    weight = amount.astype(np.float32)[:, None, None]
    return pixels + weight * (blurred - pixels)


def thicken(pixels: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """Strokes `amount` pixels thicker per image (thinner when negative): whole one-pixel
    dilations (erosions), then the fraction left (`change_thickness`)."""
    remaining = np.abs(amount).astype(np.float32)
    while remaining.max(initial=0.0) > 1e-9:
        part = np.minimum(remaining, 1.0)
        pixels = change_thickness(pixels, np.copysign(part, amount))
        remaining -= part
    return pixels


def gaussian_blur(pixels: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """A Gaussian blur of σ pixels per image: repeated [1 2 1]/4 blurs, each adding ½ to the
    variance, so σ² = passes / 2 (the last pass a partial blend)."""
    remaining = (2 * np.asarray(sigma, np.float32) ** 2).astype(np.float32)
    while remaining.max(initial=0.0) > 1e-9:
        part = np.minimum(remaining, 1.0)
        pixels = blur(pixels, part)
        remaining -= part
    return pixels


def add_noise(pixels: np.ndarray, sigma: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise of σ per image (on the 0–1 ink scale), clipped to the 0–255 range."""
    scale = (np.asarray(sigma, np.float64) * 255)[:, None, None]
    noisy = pixels + rng.normal(0.0, scale, pixels.shape).astype(np.float32)
    return np.clip(noisy, 0, 255, out=noisy)


_AXIS = np.arange(SIZE) - (SIZE - 1) / 2  # pixel positions relative to the image centre
