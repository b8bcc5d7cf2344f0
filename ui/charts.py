"""Plotly figures for the pages: pure functions from numbers to figures, no Streamlit.

The confusion matrix is a scatter of square markers rather than a heatmap because in the
browser a click on a heatmap cell reports no point to Streamlit, while a click on a marker does.
"""

from __future__ import annotations

import numpy as np

# plotly looks pandas up in sys.modules without importing it. If another session's thread is
# importing pandas at that moment, plotly finds a half-initialised module and raises (seen here
# with two browser sessions). Importing it in full before any figure can be built closes that gap.
import pandas  # noqa: F401
import plotly.graph_objects as go

DIGITS = list(range(10))
ACCENT, MUTED, CORRECT, WRONG = "#ff4b4b", "#9aa5b1", "#2e9e5b", "#d64545"


def _compact(fig: go.Figure, height: int) -> go.Figure:
    return fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10))


def confusion_chart(matrix: np.ndarray, selected: tuple[int, int] | None = None) -> go.Figure:
    """Squares coloured by count (log scale, so rare mistakes still show), counts written on them."""
    true, predicted = np.indices(matrix.shape)
    counts = matrix.ravel()
    shade = np.log1p(counts) / max(np.log1p(counts.max()), 1e-9)
    fig = go.Figure(
        go.Scatter(
            x=predicted.ravel(),
            y=true.ravel(),
            mode="markers+text",
            text=[str(c) if c else "" for c in counts],
            textfont=dict(size=11, color=["white" if s > 0.6 else "#222" for s in shade]),
            marker=dict(
                symbol="square",
                size=34,
                color=shade,
                colorscale="Blues",
                cmin=0,
                cmax=1,
                line=dict(
                    width=[3 if (t, p) == selected else 0 for t, p in zip(true.ravel(), predicted.ravel())],
                    color=ACCENT,
                ),
            ),
            customdata=counts,
            hovertemplate="true %{y}, predicted %{x}: %{customdata} images<extra></extra>",
        )
    )
    axis = dict(tickvals=DIGITS, range=[-0.6, 9.6], showgrid=False, zeroline=False, fixedrange=True)
    fig.update_xaxes(title_text="predicted digit", side="top", **axis)
    fig.update_yaxes(title_text="true digit", autorange=False, **{**axis, "range": [9.6, -0.6]})
    fig.update_layout(width=460, clickmode="event+select", dragmode=False, plot_bgcolor="white")
    return _compact(fig, 460)


def per_class_chart(accuracy: np.ndarray) -> go.Figure:
    fig = go.Figure(
        go.Bar(
            x=DIGITS,
            y=accuracy,
            marker_color=ACCENT,
            text=[f"{a:.1%}" for a in accuracy],
            textposition="outside",
            hovertemplate="digit %{x}: %{y:.2%} correct<extra></extra>",
        )
    )
    low = float(np.nanmin(accuracy)) if np.isfinite(accuracy).any() else 0.0
    fig.update_xaxes(title_text="true digit", tickvals=DIGITS)
    fig.update_yaxes(title_text="accuracy", tickformat=".0%", range=[max(0.0, low - 0.1), 1.04], dtick=0.05)
    return _compact(fig, 300)


def probability_chart(probs: np.ndarray, true_label: int | None = None) -> go.Figure:
    """One bar per digit; the network's answer in colour (green if right, red if wrong)."""
    answer = int(np.argmax(probs))
    right = true_label is None or true_label == answer
    colours = [(CORRECT if right else WRONG) if d == answer else MUTED for d in DIGITS]
    fig = go.Figure(
        go.Bar(
            x=DIGITS,
            y=probs,
            marker_color=colours,
            text=[f"{p:.0%}" if p >= 0.01 else "" for p in probs],
            textposition="outside",
            hovertemplate="digit %{x}: %{y:.1%}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="digit", tickvals=DIGITS, fixedrange=True)
    fig.update_yaxes(title_text="probability", range=[0, 1.15], tickformat=".0%", fixedrange=True)
    return _compact(fig, 280)
