"""How well saved models read digits drawn as people draw them, on the canvas and on paper.

    python -m bench.drawn_digits models/default.npz BEST.npz
    python -m bench.drawn_digits --quick models/default.npz   # seconds: one copy of each digit

MNIST's writers were American census staff and students; people who use the app draw slashed
zeros, crossed sevens, flagged ones and open fours, tilt and squeeze their digits, and use a
mouse, a marker or a pencil. This draws every digit in each of those styles (`STYLES`: strokes
in a unit box, as a hand would move), each shape several times with the hand's wobble, under
every `POSE` (upright, tilted, slanted, narrow) and at every `PEN` width, and then:

- **canvas**: white strokes on the black 280×280 canvas, as the Draw page gets them;
- **scanned**: pencil-grey strokes on off-white paper, blurred by the optics, with the sensor's
  noise and a JPEG's blocks, as an upload of a photographed or scanned digit gets them.

Each image is prepared as the app prepares any image (`nn.core.preprocess.mnist_style`). No
model trains on these, and no recipe was chosen on them alone: they are one of three checks of
reading beyond MNIST, with `bench.foreign_digits` (fonts) and the app's canvas in a browser
(tests/browser/test_drawn_digits_browser.py).
"""

from __future__ import annotations

import argparse
import io
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from nn.core.persistence import load_model
from nn.core.preprocess import mnist_style

from .markdown import models_table
from .quick import add_quick

Stroke = list[tuple[float, float]]  # points (x right, y down) in a unit box, drawn in order


def arc(centre: tuple[float, float], radii: tuple[float, float], start: float, end: float) -> Stroke:
    """Points along an ellipse from angle `start` to `end` (degrees; 0 is right, 90 is down)."""
    angles = np.radians(np.linspace(start, end, max(8, int(abs(end - start) / 8))))
    return [(centre[0] + radii[0] * np.cos(a), centre[1] + radii[1] * np.sin(a)) for a in angles]


def line(*points: tuple[float, float]) -> Stroke:
    return list(points)


@dataclass(frozen=True)
class Style:
    """One way of writing a digit: its strokes, in the order a hand draws them."""

    digit: int
    name: str
    strokes: tuple[Stroke, ...]


STYLES: tuple[Style, ...] = (
    Style(0, "oval", (arc((0.5, 0.5), (0.3, 0.45), -90, 275),)),
    Style(0, "slashed", (arc((0.5, 0.5), (0.3, 0.45), -90, 275), line((0.78, 0.12), (0.22, 0.88)))),
    Style(1, "stick", (line((0.5, 0.05), (0.5, 0.95)),)),
    Style(1, "flagged", (line((0.28, 0.28), (0.55, 0.05), (0.55, 0.95)),)),
    Style(
        1,
        "flagged, with a base",
        (line((0.28, 0.28), (0.55, 0.05), (0.55, 0.95)), line((0.3, 0.95), (0.8, 0.95))),
    ),
    Style(2, "plain", (arc((0.5, 0.3), (0.28, 0.25), 180, 400) + line((0.2, 0.95), (0.85, 0.95)),)),
    Style(
        2,
        "looped",
        (
            arc((0.5, 0.3), (0.28, 0.25), 180, 400)
            + arc((0.3, 0.85), (0.1, 0.08), 270, 20)
            + line((0.85, 0.93)),
        ),
    ),
    Style(3, "round", (arc((0.5, 0.28), (0.27, 0.23), 200, 450) + arc((0.5, 0.73), (0.3, 0.23), 270, 520),)),
    Style(
        3,
        "flat-topped",
        (line((0.2, 0.05), (0.8, 0.05), (0.45, 0.42)) + arc((0.5, 0.68), (0.32, 0.27), 250, 520),),
    ),
    Style(4, "closed", (line((0.65, 0.05), (0.12, 0.65), (0.9, 0.65)), line((0.65, 0.05), (0.65, 0.95)))),
    Style(4, "open", (line((0.25, 0.05), (0.2, 0.6), (0.88, 0.6)), line((0.7, 0.2), (0.7, 0.95)))),
    Style(
        5, "plain", (line((0.8, 0.05), (0.3, 0.05), (0.27, 0.5)) + arc((0.5, 0.68), (0.3, 0.27), 220, 520),)
    ),
    Style(
        5,
        "flag last",
        (
            line((0.3, 0.05), (0.27, 0.5)) + arc((0.5, 0.68), (0.3, 0.27), 220, 520),
            line((0.3, 0.05), (0.8, 0.05)),
        ),
    ),
    Style(6, "plain", (arc((0.65, 0.55), (0.42, 0.5), 260, 175) + arc((0.5, 0.72), (0.27, 0.23), 180, 540),)),
    Style(7, "plain", (line((0.15, 0.05), (0.85, 0.05), (0.4, 0.95)),)),
    Style(7, "crossed", (line((0.15, 0.05), (0.85, 0.05), (0.4, 0.95)), line((0.38, 0.5), (0.85, 0.5)))),
    Style(
        8, "two loops", (arc((0.5, 0.27), (0.22, 0.22), 90, 450), arc((0.5, 0.71), (0.28, 0.24), -90, 270))
    ),
    Style(
        8,
        "one stroke",
        (
            arc((0.5, 0.27), (0.22, 0.22), 0, -270)
            + arc((0.5, 0.71), (0.28, 0.24), 270, -90)
            + arc((0.5, 0.27), (0.22, 0.22), 90, 0),
        ),
    ),
    Style(9, "plain", (arc((0.48, 0.3), (0.27, 0.25), 0, 360) + line((0.72, 0.95)),)),
    Style(
        9,
        "curved stem",
        (arc((0.48, 0.3), (0.27, 0.25), 0, 360) + line((0.74, 0.75), (0.55, 0.95), (0.35, 0.9)),),
    ),
)


@dataclass(frozen=True)
class Pose:
    """How the hand holds the whole digit: turned, slanted, narrowed."""

    name: str
    turn: float = 0.0  # degrees, clockwise
    slant: float = 0.0  # the top leans right by this fraction of the height
    width: float = 0.6  # of the height


POSES = (
    Pose("upright"),
    Pose("tilted left", turn=-18),
    Pose("tilted right", turn=18),
    Pose("slanted", slant=0.35),
    Pose("narrow", width=0.35),
)
PENS = (8, 18, 32)  # stroke widths in canvas pixels: a fine pen, the Draw page's brush, a marker
CANVAS = 280
COPIES = 3  # wobbly copies of each style, pose and pen


def placed(style: Style, pose: Pose, rng: np.random.Generator) -> list[np.ndarray]:
    """The style's strokes in canvas pixels, wobbled, posed and placed somewhere on the canvas."""
    height = rng.uniform(0.55, 0.8) * CANVAS
    turn = np.radians(pose.turn + rng.normal(0, 4))
    rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    centre = CANVAS / 2 + rng.uniform(-0.08, 0.08, 2) * CANVAS
    strokes = []
    for stroke in style.strokes:
        unit = np.array(stroke) + rng.normal(0, 0.015, (len(stroke), 2))  # the hand's wobble
        unit += rng.normal(0, 0.03, 2)  # each stroke lands a little off the last
        x = (unit[:, 0] - 0.5) * pose.width + pose.slant * (0.5 - unit[:, 1])
        y = unit[:, 1] - 0.5
        strokes.append(np.column_stack([x, y]) @ rotation.T * height + centre)
    return strokes


def canvas_drawing(strokes: list[np.ndarray], pen: int) -> np.ndarray:
    """White strokes on black, round-ended, as the Draw page's canvas paints them."""
    image = Image.new("L", (CANVAS, CANVAS), 0)
    draw = ImageDraw.Draw(image)
    for points in strokes:
        xy = [tuple(p) for p in points]
        draw.line(xy, fill=255, width=pen, joint="curve")
        for x, y in (xy[0], xy[-1]):
            draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=255)
    return np.asarray(image)


def scanned(drawing: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The drawing as a scan of pencil on paper: grey ink, off-white paper, blur, noise, JPEG."""
    paper, ink = rng.uniform(0.85, 0.97), rng.uniform(0.1, 0.45)
    grey = paper - (paper - ink) * drawing.astype(np.float32) / 255
    blurred = Image.fromarray((grey * 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(rng.uniform(1, 3))
    )
    noisy = np.asarray(blurred, np.float32) + rng.normal(0, 6, drawing.shape)
    encoded = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(
        encoded, "JPEG", quality=int(rng.integers(25, 60))
    )
    return np.asarray(Image.open(encoded))


@dataclass(frozen=True)
class DrawnDigits:
    """Prepared 28×28 digits, their labels, and which style, pose and medium each one is."""

    images: np.ndarray
    labels: np.ndarray
    styles: np.ndarray  # "7 crossed"
    poses: np.ndarray
    media: np.ndarray  # "canvas" or "scanned"


def drawn_digits(copies: int = COPIES, pens: Sequence[int] = PENS, seed: int = 0) -> DrawnDigits:
    """Every style in every pose, with every pen, `copies` times, on the canvas and scanned."""
    rng = np.random.default_rng(seed)
    rows = []
    for style, pose, pen, _ in itertools.product(STYLES, POSES, pens, range(copies)):
        drawing = canvas_drawing(placed(style, pose, rng), pen)
        name = f"{style.digit} {style.name}"
        rows.append((mnist_style(drawing), style.digit, name, pose.name, "canvas"))
        rows.append((mnist_style(scanned(drawing, rng)), style.digit, name, pose.name, "scanned"))
    images, labels, styles, poses, media = zip(*rows)
    return DrawnDigits(np.stack(images), np.array(labels), np.array(styles), np.array(poses), np.array(media))


def accuracy_by(groups: np.ndarray, correct: np.ndarray) -> dict[str, float]:
    """The share of correct answers within each group, in the groups' first-seen order."""
    return {str(g): float(correct[groups == g].mean()) for g in dict.fromkeys(groups)}


def accuracy_rows(columns: list[dict[str, float]]) -> dict[str, list[str]]:
    """{group: each model's accuracy there}, from one {group: accuracy} per model."""
    return {group: [f"{column[group]:.3f}" for column in columns] for group in columns[0]}


def main(argv: list[str] | None = None) -> int:
    description = __doc__.splitlines()[0]
    parser = argparse.ArgumentParser(prog="python -m bench.drawn_digits", description=description)
    parser.add_argument("models", type=Path, nargs="+", metavar="MODEL", help="model .npz files")
    parser.add_argument(
        "--copies", type=int, default=COPIES, help="wobbly copies of each style, pose and pen"
    )
    parser.add_argument("--pens", type=int, nargs="+", default=PENS, help="stroke widths in canvas pixels")
    add_quick(parser, {"copies": 1, "pens": [18]}, argv)
    args = parser.parse_args(argv)
    digits = drawn_digits(args.copies, args.pens)
    names = [path.name for path in args.models]
    correct = [load_model(path).predict(digits.images) == digits.labels for path in args.models]
    print(
        f"{len(digits.labels)} drawn digits: {len(STYLES)} styles, {len(POSES)} poses, pens {args.pens}, "
        f"{args.copies} copies, on the canvas and scanned\n"
    )
    by_medium = [{"all": float(c.mean())} | accuracy_by(digits.media, c) for c in correct]
    lines = models_table("digits", names, accuracy_rows(by_medium))
    lines += models_table("pose", names, accuracy_rows([accuracy_by(digits.poses, c) for c in correct]))
    lines += models_table("style", names, accuracy_rows([accuracy_by(digits.styles, c) for c in correct]))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
