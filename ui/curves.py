"""The Train page's loss and accuracy curves, drawn as an SVG picture: no Streamlit, no plotly.

The page redraws the curves every few seconds while a run trains. As a plotly chart each redraw
took the browser about 170 ms of JavaScript (laying out its axes, margins and legend again), on
the cores the run trains on; as a picture it is decoded and drawn in a few milliseconds, as the
features and the layer map already are. The interactive chart of any saved run, with its values
under the pointer, is on the Compare runs page.

The picture is a fixed 900 × 360 canvas (`viewBox`) that the page scales to its width: loss on
the left axis, accuracy on the right, every planned epoch on the x axis from the start.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nn.core.training import EpochEnd

from .charts import ACCENT, CORRECT

WIDTH, HEIGHT = 900, 360
LEFT, RIGHT, TOP, BOTTOM = 70, 830, 48, 310  # the plotting area's edges on the canvas
TEXT, GRID = "#808495", "#e6e9ef"  # Streamlit's muted text and its charts' grid lines


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]  # one per epoch; None where the epoch has no such value
    colour: str
    dash: str | None  # SVG stroke-dasharray, or None for a solid line
    right_axis: bool


def nice_step(span: float, ticks: int = 5) -> float:
    """A round tick spacing (1, 2 or 5 times a power of ten) giving about `ticks` intervals."""
    raw = max(span, 1e-12) / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def loss_axis(losses: Sequence[float]) -> tuple[float, float, float]:
    """(low, high, step) of the loss axis: from 0 to a round value above the highest loss."""
    highest = max(losses, default=1.0)
    step = nice_step(highest)
    return 0.0, step * math.ceil(highest / step - 1e-9), step


def accuracy_axis(accuracies: Sequence[float]) -> tuple[float, float, float]:
    """(low, high, step) of the accuracy axis: from a round value below the lowest to 100 %."""
    lowest = min(accuracies, default=0.0)
    step = nice_step(1.0 - lowest if lowest < 1.0 else 0.01)
    return min(step * math.floor(lowest / step + 1e-9), 1.0 - step), 1.0, step


def training_curves(epochs: Sequence[EpochEnd], total_epochs: int) -> str:
    """Average loss per epoch (left axis), train and held-out accuracy (right axis), as SVG."""
    series = [
        Series("loss", [e.loss for e in epochs], ACCENT, None, right_axis=False),
        Series("train accuracy", [e.train_accuracy for e in epochs], CORRECT, "2 4", right_axis=True),
        Series("held-out accuracy", [e.held_out_accuracy for e in epochs], CORRECT, None, right_axis=True),
    ]
    left = loss_axis([e.loss for e in epochs])
    right = accuracy_axis([v for s in series[1:] for v in s.values if v is not None])
    x = _scale(0.5, total_epochs + 0.5, LEFT, RIGHT)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'font-family="sans-serif" font-size="13" fill="{TEXT}">',
        "<title>Loss and accuracy per epoch</title>",
        *_y_axis(left, "average loss", at_right=False, format_tick=lambda v: f"{v:g}"),
        *_y_axis(right, "accuracy", at_right=True, format_tick=_percent(right[2])),
        *_x_axis(total_epochs, x),
        *_legend(series),
    ]
    for s in series:
        y = _scale(*(right if s.right_axis else left)[:2], BOTTOM, TOP)
        points = [(x(epoch), y(v)) for epoch, v in enumerate(s.values, 1) if v is not None]
        parts.append(_line(s, points, _dot_radius(total_epochs)))
    parts.append("</svg>")
    return "".join(parts)


def _dot_radius(total_epochs: int) -> int:
    """Dots mark each epoch while they stay apart; past 150 epochs they would merge into a band."""
    return 3 if total_epochs <= 50 else 2 if total_epochs <= 150 else 0


def _scale(low: float, high: float, start: float, end: float) -> Callable[[float], float]:
    """The linear map from [low, high] in data to [start, end] on the canvas."""
    return lambda v: start + (v - low) / ((high - low) or 1.0) * (end - start)


def _percent(step: float) -> Callable[[float], str]:
    decimals = max(0, -math.floor(math.log10(step * 100) + 1e-9))
    return lambda v: f"{v * 100:.{decimals}f}%"


def _y_axis(
    axis: tuple[float, float, float], title: str, *, at_right: bool, format_tick: Callable[[float], str]
) -> list[str]:
    low, high, step = axis
    y = _scale(low, high, BOTTOM, TOP)
    edge, anchor, offset = (RIGHT + 8, "start", 56) if at_right else (LEFT - 8, "end", -56)
    parts = []
    for k in range(round((high - low) / step) + 1):
        value = low + k * step
        level = f"{y(value):.1f}"
        if not at_right:  # grid lines follow the loss ticks only, or the two sets would cross
            parts.append(f'<line x1="{LEFT}" x2="{RIGHT}" y1="{level}" y2="{level}" stroke="{GRID}"/>')
        label = format_tick(value)
        parts.append(f'<text x="{edge}" y="{y(value) + 4:.1f}" text-anchor="{anchor}">{label}</text>')
    middle, centre = (TOP + BOTTOM) / 2, (RIGHT if at_right else LEFT) + offset
    parts.append(
        f'<text x="{centre}" y="{middle}" text-anchor="middle" '
        f'transform="rotate(-90 {centre} {middle})">{title}</text>'
    )
    return parts


def _x_axis(total_epochs: int, x: Callable[[float], float]) -> list[str]:
    step = max(1, round(nice_step(total_epochs, ticks=10)))
    ticks = range(step, total_epochs + 1, step)
    parts = [f'<line x1="{LEFT}" x2="{RIGHT}" y1="{BOTTOM}" y2="{BOTTOM}" stroke="{TEXT}"/>']
    parts += [f'<text x="{x(t):.1f}" y="{BOTTOM + 20}" text-anchor="middle">{t}</text>' for t in ticks]
    parts.append(f'<text x="{(LEFT + RIGHT) / 2}" y="{BOTTOM + 42}" text-anchor="middle">epoch</text>')
    return parts


def _legend(series: Sequence[Series]) -> list[str]:
    parts, left = [], LEFT
    for s in series:
        parts.append(_stroke(f'<line x1="{left}" x2="{left + 28}" y1="18" y2="18"', s))
        parts.append(f'<text x="{left + 36}" y="22">{s.name}</text>')
        left += 60 + 7.5 * len(s.name)
    return parts


def _line(s: Series, points: Sequence[tuple[float, float]], radius: int) -> str:
    """One series: its line through every epoch (and a dot on each, if `radius`), in a named group."""
    path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
    dots = "".join(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="{radius}"/>' for px, py in points if radius)
    line = _stroke(f'<polyline points="{path}" fill="none"', s)
    return f'<g data-series="{s.name}" fill="{s.colour}">{line}{dots}</g>'


def _stroke(element: str, s: Series) -> str:
    dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
    return f'{element} stroke="{s.colour}" stroke-width="2"{dash}/>'
