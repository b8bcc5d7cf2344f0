"""Figures for looking inside the network: pure functions from `nn.explain.inside` results to plotly.

The Draw page leaves the 28×28 image the network saw in `st.session_state[DRAWN_DIGIT]`
(None once the canvas is empty), so the Inside page can take the same digit apart.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from nn.explain.inside import Distribution, tile
from nn.explain.saliency import Saliency

from .charts import ACCENT, MUTED

DRAWN_DIGIT = "drawn_digit"  # session-state key: the Draw page's current digit, (28, 28) float in [0, 1]
FEATURE_COLUMNS = 16
# Blue for negative, white for zero, red for positive: the sign is the message.
DIVERGING = "RdBu_r"
_PALETTE = np.array(
    [[int(v) for v in colour[4:-1].split(",")] for colour in sample_colorscale(DIVERGING, 256)], np.uint8
)  # 256 steps of DIVERGING from -1 to 1, as 'rgb(r, g, b)' strings parsed into numbers


def image_axes(fig: go.Figure, height: int) -> go.Figure:
    """Square pixels, row 0 at the top, no ticks: an image, not a plot."""
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    return fig.update_layout(height=height, margin=dict(l=0, r=0, t=30, b=0), plot_bgcolor="white")


def feature_grid_chart(features: np.ndarray, columns: int = FEATURE_COLUMNS) -> go.Figure:
    """First-layer neurons' weights as a grid of 28×28 tiles, each scaled to its own range."""
    grid = tile(features, columns=min(columns, len(features)))
    fig = go.Figure(
        go.Heatmap(
            z=grid,
            colorscale=DIVERGING,
            zmin=-1,
            zmax=1,
            showscale=False,
            hoverinfo="skip",
        )
    )
    rows = -(-len(features) // columns)
    return image_axes(fig, height=min(900, 60 + rows * 56))


def feature_grid_picture(features: np.ndarray, columns: int = FEATURE_COLUMNS, zoom: int = 3) -> np.ndarray:
    """The same grid as `feature_grid_chart`, as an RGB picture (uint8) enlarged `zoom` times.

    A picture costs the browser almost nothing to draw, where the chart's 50,000-cell heatmap
    takes it most of a second: the Train page, which redraws the grid as a run trains, uses this.
    Sixteen tiles enlarged 3 times are 1,389 pixels wide: `st.image` shrinks anything wider than
    1,460 (blurring the pixels and encoding the PNG twice, 0.2 s of the server's time).
    """
    grid = tile(features, columns=min(columns, len(features)))
    levels = np.rint((np.nan_to_num(grid, nan=0.0) + 1) / 2 * (len(_PALETTE) - 1)).astype(np.intp)
    picture = _PALETTE[levels]
    picture[np.isnan(grid)] = 255  # the gaps between tiles: white, as the chart leaves them blank
    return picture.repeat(zoom, axis=0).repeat(zoom, axis=1)


def digit_chart(image: np.ndarray, title: str) -> go.Figure:
    """The 28×28 input as the network sees it, white ink on black; uint8 (MNIST) or float 0–1."""
    full = 255 if image.dtype == np.uint8 else 1
    fig = go.Figure(go.Heatmap(z=image, colorscale="gray", zmin=0, zmax=full, showscale=False))
    fig.update_traces(hovertemplate="row %{y}, column %{x}: ink %{z}<extra></extra>")
    return image_axes(fig.update_layout(title=title), height=300)


def saliency_chart(result: Saliency) -> go.Figure:
    """Each pixel's contribution to the margin between the prediction and the runner-up."""
    fig = go.Figure(
        go.Heatmap(
            z=result.attribution,
            colorscale=DIVERGING,
            zmid=0,
            colorbar=dict(title="push", thickness=12),
            hovertemplate="row %{y}, column %{x}: %{z:+.3f}<extra></extra>",
        )
    )
    title = f"red: for {result.predicted} · blue: for {result.runner_up}"
    return image_axes(fig.update_layout(title=title), height=300)


def activations_chart(layers: Sequence[np.ndarray], names: Sequence[str]) -> go.Figure:
    """One bar chart per hidden layer: how strongly each neuron fires for this digit."""
    fig = make_subplots(rows=len(layers), cols=1, subplot_titles=list(names), vertical_spacing=0.12)
    for row, values in enumerate(layers, start=1):
        fig.add_trace(
            go.Bar(
                x=np.arange(len(values)),
                y=values,
                marker_color=ACCENT,
                showlegend=False,
                hovertemplate="neuron %{x}: %{y:.3f}<extra></extra>",
            ),
            row=row,
            col=1,
        )
        fig.update_xaxes(title_text="neuron", row=row, col=1)
        fig.update_yaxes(title_text="activation", rangemode="tozero", row=row, col=1)
    return fig.update_layout(height=220 * len(layers), margin=dict(l=10, r=10, t=30, b=10), bargap=0.05)


def distribution_chart(distributions: Sequence[Distribution], what: str) -> go.Figure:
    """Per layer, the histogram before training (grey) laid over the one after (colour)."""
    fig = make_subplots(
        rows=1,
        cols=len(distributions),
        subplot_titles=[d.layer for d in distributions],
        horizontal_spacing=0.06,
    )
    for col, dist in enumerate(distributions, start=1):
        for counts, name, colour in ((dist.before, "before training", MUTED), (dist.after, "after", ACCENT)):
            fig.add_trace(
                go.Bar(
                    x=dist.centres,
                    y=counts,
                    width=dist.width,
                    name=name,
                    marker_color=colour,
                    opacity=0.6,
                    legendgroup=name,
                    showlegend=col == 1,
                    hovertemplate=f"{name}: %{{y}} {what} near %{{x:.3f}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
        fig.update_xaxes(title_text=what.rstrip("s"), row=1, col=col)
    fig.update_yaxes(title_text=f"number of {what}", col=1)
    fig.update_layout(barmode="overlay", legend=dict(orientation="h", y=1.3))
    return fig.update_layout(height=340, margin=dict(l=10, r=10, t=80, b=10))
