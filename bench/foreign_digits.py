"""How well saved models read digits that are not MNIST's: printed digits from installed fonts.

    python -m bench.foreign_digits models/default.npz models/runs/*.npz
    python -m bench.foreign_digits --quick models/default.npz   # seconds: one stroke, one slant

A network can score 99 % on MNIST's test set and still misread digits written with another
pen. Real foreign handwriting is not in the repo, so this renders every digit in the DejaVu and
Liberation fonts (regular, bold, italic, condensed, mono, serif: whichever are installed), each
at three stroke widths and three slants, and prepares it exactly as the app prepares a drawing
(`nn.core.preprocess.mnist_style`). No model ever trains on these, so the score is a held-out check
of how far a model's reading carries beyond MNIST — a proxy, not a measurement of handwriting.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from nn.core.persistence import load_model
from nn.core.preprocess import mnist_style

from .quick import add_quick

FAMILIES = {
    "DejaVu": ["Sans", "Serif", "SansMono", "SansCondensed", "SerifCondensed"],
    "Liberation": ["Sans", "Serif", "Mono", "SansNarrow"],
}
STYLES = ["", "-Bold", "-Italic", "-Oblique", "-BoldItalic", "-BoldOblique", "-Regular", "-ExtraLight"]
STROKES = (0, 4, 9)  # pixels of outline added around 140-pixel glyphs: regular to marker-thick
SLANTS = (-12, 0, 12)  # degrees
QUICK = {"strokes": [0], "slants": [0]}


def installed_fonts() -> list[ImageFont.FreeTypeFont]:
    """Every listed font that Pillow finds in the system's font directories."""
    fonts = []
    for family, variants in FAMILIES.items():
        for variant, style in itertools.product(variants, STYLES):
            try:
                fonts.append(ImageFont.truetype(f"{family}{variant}{style}.ttf", 140))
            except OSError:
                continue  # not installed here
    return fonts


def render_digits(
    fonts: list[ImageFont.FreeTypeFont], strokes: Sequence[int] = STROKES, slants: Sequence[int] = SLANTS
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 28, 28) float32 digits prepared as the app prepares a drawing, and their labels."""
    images, labels = [], []
    for font, digit, stroke, slant in itertools.product(fonts, range(10), strokes, slants):
        canvas = Image.new("L", (260, 260), 255)
        ImageDraw.Draw(canvas).text(
            (130, 130), str(digit), font=font, fill=0, anchor="mm", stroke_width=stroke, stroke_fill=0
        )
        canvas = canvas.rotate(slant, resample=Image.Resampling.BICUBIC, fillcolor=255)
        images.append(mnist_style(np.asarray(canvas)))
        labels.append(digit)
    return np.stack(images), np.array(labels)


def main(argv: list[str] | None = None) -> int:
    description = __doc__.splitlines()[0]
    parser = argparse.ArgumentParser(prog="python -m bench.foreign_digits", description=description)
    parser.add_argument("models", type=Path, nargs="+", metavar="MODEL", help="model .npz files")
    parser.add_argument("--strokes", type=int, nargs="+", default=STROKES, help="pixels of outline")
    parser.add_argument("--slants", type=int, nargs="+", default=SLANTS, help="degrees")
    add_quick(parser, QUICK, argv)
    args = parser.parse_args(argv)
    fonts = installed_fonts()
    if not fonts:
        parser.error("none of the DejaVu or Liberation fonts is installed")
    images, labels = render_digits(fonts, args.strokes, args.slants)
    variants = f"{len(args.strokes)} strokes, {len(args.slants)} slants"
    print(f"{len(labels)} digits from {len(fonts)} fonts, {variants}")
    for path in args.models:
        model = load_model(path)
        training = model.record.training
        augment = training.augment if training is not None else "?"
        shape = "-".join(map(str, model.layer_sizes))
        print(f"{model.score(images, labels):.4f}  {shape:<18} augment={augment:<8} {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
