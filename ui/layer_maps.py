"""Hidden-layer maps for the pages: the fixed sample, cached maps per model file, and their figures.

The maps are `nn.explain.projection`'s; this module picks the sample (the same `MAP_SAMPLE` test images
for every map, so maps of different layers and networks can be compared point for point),
caches the maps of each network and draws them: one colour per digit, each point carrying its
test-image number so that a click can show the image.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.colors import hex_to_rgb, qualitative

from nn.core.data import MNIST
from nn.core.network import MLP
from nn.explain.inside import initial_model
from nn.explain.projection import LayerMap, layer_maps, map_sample

from . import cache
from .charts import ACCENT, DIGITS, MUTED

DIGIT_COLOURS = qualitative.Plotly  # ten distinct colours, one per digit
MARKER_OPACITY = 0.75  # of the maps' dots, where they overlap
CLICKED = "map_clicked"  # session-state key: the test index of the point last clicked on a map


@dataclass(frozen=True)
class Sample:
    indices: np.ndarray  # into the test set
    images: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class Maps:
    """Every layer's map for the trained network and, when it can be rebuilt, the untrained one."""

    after: list[LayerMap]
    before: list[LayerMap] | None


def sample(mnist: MNIST) -> Sample:
    indices = map_sample(mnist.test_labels)
    return Sample(indices, mnist.test_images[indices], mnist.test_labels[indices])


@st.cache_resource(max_entries=8, show_spinner="Projecting every layer of 2,000 test digits…")
def _maps(fingerprint: str, _model: MLP) -> Maps:
    """`_model` is left out of the cache key (leading underscore): `fingerprint` stands for it."""
    model = _model
    chosen = sample(cache.mnist())
    before = initial_model(model)
    after = layer_maps(model, chosen.images, chosen.labels)
    if before is None:
        return Maps(after, None)
    return Maps(after, layer_maps(before, chosen.images, chosen.labels, pixels=after[0]))


def maps(model: MLP) -> Maps:
    """The maps of `model`, computed once per network.

    Keyed by the weights and the recipe of the untrained network (its `ModelConfig`, and whether
    it can be rebuilt: see `nn.explain.inside.initial_model`) rather than by file, so copies of one model
    (a run saved twice, the tests' temporary folders) share their maps: they take seconds to compute.
    """
    recipe = json.dumps([model.config.to_dict(), model.record.first_training is not None])
    digest = hashlib.blake2b(model.params.tobytes(), digest_size=16)
    digest.update(f"{model.layer_sizes} {recipe}".encode())
    return _maps(digest.hexdigest(), model)


def map_chart(
    layer_map: LayerMap,
    chosen: Sample,
    title: str,
    star: np.ndarray | None = None,
    clicked: int | None = None,
) -> go.Figure:
    """The sample's points in the map, one trace (and colour) per digit; `star`: the drawn digit."""
    fig = go.Figure()
    for digit in DIGITS:
        rows = np.flatnonzero(chosen.labels == digit)
        fig.add_trace(
            go.Scatter(
                x=layer_map.points[rows, 0],
                y=layer_map.points[rows, 1],
                mode="markers",
                name=str(digit),
                marker=dict(size=5, color=DIGIT_COLOURS[digit], opacity=MARKER_OPACITY),
                customdata=chosen.indices[rows],
                hovertemplate=f"a {digit}: test image #%{{customdata}}<extra></extra>",
            )
        )
    if clicked is not None and clicked in chosen.indices:
        row = int(np.searchsorted(chosen.indices, clicked))
        _marker(fig, layer_map.points[row], "circle-open", MUTED, f"test image #{clicked}", size=16)
    if star is not None:
        _marker(fig, star, "star", ACCENT, "your drawing", size=20)
    fig.update_xaxes(title_text=f"PC 1 ({layer_map.projection.explained[0]:.0%} of the spread)")
    fig.update_yaxes(title_text=f"PC 2 ({layer_map.projection.explained[1]:.0%})")
    fig.update_layout(
        title=title, legend=dict(title="digit", itemsizing="constant"), clickmode="event+select"
    )
    return fig.update_layout(height=420, margin=dict(l=10, r=10, t=40, b=10))


def map_picture(
    layer_map: LayerMap, chosen: Sample, size: tuple[int, int] = (1200, 700), radius: int = 5
) -> np.ndarray:
    """The sample's points as `map_chart` places and colours them, as an RGB picture (uint8).

    The Train page redraws its run's map every few seconds. As a chart of 2,000 SVG markers each
    redraw took the browser most of a second of CPU, on the cores the run trains on; a picture
    takes it a few milliseconds. PC 1 runs left to right and PC 2 bottom to top, as on the chart.
    Digits are drawn in order, 9 on top, as the chart's traces are.
    """
    width, height = size
    inner = np.array([width, height]) - 2 * (radius + 1)
    low, high = layer_map.points.min(axis=0), layer_map.points.max(axis=0)
    scaled = (layer_map.points - low) / np.where(high > low, high - low, 1.0) * inner + radius + 1
    columns, rows = np.rint(scaled[:, 0]).astype(int), np.rint(height - 1 - scaled[:, 1]).astype(int)
    dy, dx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    in_disc = dx**2 + dy**2 <= radius**2
    dy, dx = dy[in_disc], dx[in_disc]
    pixels = np.full((height * width, 3), 255.0, np.float32)
    for digit in DIGITS:
        ours = chosen.labels == digit
        in_dots = np.zeros(height * width, bool)
        in_dots[((rows[ours, None] + dy) * width + columns[ours, None] + dx).ravel()] = True
        covered = np.flatnonzero(in_dots)  # each pixel once, however many dots cover it
        colour = np.array(hex_to_rgb(DIGIT_COLOURS[digit]), np.float32)
        pixels[covered] += MARKER_OPACITY * (colour - pixels[covered])
    return np.rint(pixels).astype(np.uint8).reshape(height, width, 3)


def legend_html() -> str:
    """The digits' colours, one dot each, for a line beside a `map_picture`."""
    dots = (f'<span style="color:{DIGIT_COLOURS[d]}">&#9679;</span>&nbsp;{d}' for d in DIGITS)
    return "digit &nbsp; " + " &nbsp; ".join(dots)


def _marker(fig: go.Figure, point: np.ndarray, symbol: str, colour: str, name: str, size: int) -> None:
    fig.add_trace(
        go.Scatter(
            x=[point[0]],
            y=[point[1]],
            mode="markers",
            name=name,
            marker=dict(symbol=symbol, size=size, color=colour, line=dict(width=2, color="black")),
            hovertemplate=f"{name}<extra></extra>",
        )
    )


def separation_chart(maps: Maps) -> go.Figure:
    """Each layer's separation score, before training (grey) and after (colour)."""
    fig = go.Figure()
    series = [("before training", maps.before, MUTED), ("after training", maps.after, ACCENT)]
    for name, layers, colour in series:
        if layers is None:
            continue
        fig.add_trace(
            go.Scatter(
                x=[m.name for m in layers],
                y=[m.separation for m in layers],
                name=name,
                mode="lines+markers+text",
                text=[f"{m.separation:.0%}" for m in layers],
                textposition="top center",
                line_color=colour,
                hovertemplate=f"{name}, %{{x}}: %{{y:.1%}}<extra></extra>",
            )
        )
    fig.update_yaxes(title_text="5-nearest-neighbour accuracy in the map", tickformat=".0%", range=[0, 1.08])
    fig.update_layout(legend=dict(orientation="h", y=1.15))
    return fig.update_layout(height=300, margin=dict(l=10, r=10, t=30, b=10))


def remember_click(key: str) -> None:
    """on_select callback of a map: keep the test index of the clicked point."""
    points = st.session_state[key].selection.points
    index = clicked_index(points)
    if index is not None:
        st.session_state[CLICKED] = index


def clicked_index(points: list[dict]) -> int | None:
    """The test-image number carried by the first clicked point that has one (stars have none)."""
    for point in points:
        data = point.get("customdata")
        if data is not None:
            return int(data[0] if isinstance(data, list) else data)
    return None
