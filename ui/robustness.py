"""The Robustness page's helpers: curves computed once per model file version, and their figures.

Attacking or corrupting 1,000 test images takes seconds, far too long for every click, so each
curve is cached by the model file's path and modification time, like `ui.cache`'s predictions:
a model rewritten in place (given a temperature, say) is measured again. The figures are pure
functions from numbers to plotly, as in `ui.charts`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import plotly.colors
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from nn.core.data import robustness_sample
from nn.core.errors import DigitLabError
from nn.core.network import MLP
from nn.robustness.adversarial import ATTACKS, DEFAULT_STEPS, accuracy_under_attack, smallest_flipping_epsilon
from nn.robustness.calibration import Calibration, Coverage, Reliability, calibrate, coverage
from nn.robustness.corruptions import CORRUPTIONS, accuracy_under_corruption
from services.runs import RunStore

from . import cache
from .charts import ACCENT, MUTED
from .inside import DIVERGING, image_axes

EPSILONS = (0.0, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3)
REPORTED = (0.05, 0.1, 0.2)  # the ε values the page spells out
ATTACK_NAMES = {"fgsm": "FGSM (one step)", "pgd": "PGD (iterative)"}
NOT_SURE = "not_sure_threshold"  # session key: below this confidence the Draw page says "not sure"
DEFAULT_NOT_SURE = 0.0  # always answer until the person picks a threshold: the page reads as before
PALETTE = plotly.colors.qualitative.D3
NOTICE = "robustness_notice"  # a message from the temperature buttons, shown on the next run


def sample() -> tuple[np.ndarray, np.ndarray]:
    """The fixed 1,000 test images (and labels) that the attack and corruption curves use."""
    return robustness_sample(cache.mnist())


def store_temperature(path: Path, temperature: float | None, fitted_for: float) -> None:
    """Button callback: write (or remove) the temperature in the model file, keeping the weights.

    The run store rewrites the file (`RunStore.set_temperature`): it is the one owner of the
    models folder's files. `fitted_for` is the file's modification time the temperature was fitted at.
    """
    try:
        RunStore().set_temperature(path, temperature, fitted_for=fitted_for)
    except (DigitLabError, OSError, ValueError) as exc:
        st.session_state[NOTICE] = ("error", f"The temperature was not saved: {exc}")
    else:
        done = f"saved with temperature {temperature:.2f}" if temperature else "back to temperature 1"
        st.session_state[NOTICE] = ("success", f"{path.name} is {done}; its weights are unchanged.")


def _version(path: Path) -> tuple[str, float]:
    return str(path), path.stat().st_mtime


@st.cache_data(max_entries=16, show_spinner="Attacking 1,000 test images at every ε…")
def _attack_curves(path: str, mtime: float) -> dict[str, np.ndarray]:
    model = cache.model(Path(path))
    images, labels = sample()
    return {method: accuracy_under_attack(model, images, labels, EPSILONS, method) for method in ATTACKS}


def attack_curves(path: Path) -> dict[str, np.ndarray]:
    """Accuracy at each of `EPSILONS` under each attack, on the fixed sample."""
    return _attack_curves(*_version(path))


@st.cache_data(max_entries=16, show_spinner="Rotating, shifting, scaling, blurring 1,000 test images…")
def _corruption_curves(path: str, mtime: float) -> dict[str, np.ndarray]:
    model = cache.model(Path(path))
    images, labels = sample()
    return {kind: accuracy_under_corruption(model, images, labels, kind) for kind in CORRUPTIONS}


def corruption_curves(path: Path) -> dict[str, np.ndarray]:
    """Accuracy at each level of each corruption (`CORRUPTIONS[kind].levels`), on the fixed sample."""
    return _corruption_curves(*_version(path))


@st.cache_data(max_entries=16, show_spinner="Fitting a temperature and measuring calibration…")
def _calibration(path: str, mtime: float) -> Calibration:
    return calibrate(cache.model(Path(path)), cache.mnist())


def calibration(path: Path) -> Calibration:
    """Reliability before and after temperature scaling, for the model file's current version."""
    return _calibration(*_version(path))


@st.cache_data(max_entries=16, show_spinner=False)
def _coverage(path: str, mtime: float) -> Coverage:
    predictions = cache.test_predictions(Path(path))
    return coverage(predictions.probs, predictions.labels)


def coverage_curve(path: Path) -> Coverage:
    """Coverage against accuracy on the test set, with the probabilities the app shows."""
    return _coverage(*_version(path))


@st.cache_data(max_entries=256, show_spinner="Searching for the smallest ε that changes the answer…")
def _smallest_epsilon(
    path: str, mtime: float, image: np.ndarray, method: str, target: int | None, label: int | None, steps: int
) -> float | None:
    return smallest_flipping_epsilon(cache.model(Path(path)), image, method, target, label, steps)


def smallest_epsilon(
    path: Path,
    image: np.ndarray,
    method: str,
    target: int | None,
    label: int | None,
    steps: int = DEFAULT_STEPS,
) -> float | None:
    """`smallest_flipping_epsilon`, once per image and attack (it does not depend on ε)."""
    return _smallest_epsilon(*_version(path), image, method, target, label, steps)


def not_sure_threshold(key: str) -> float:
    """A slider for the "not sure" threshold, shared by every page that shows one.

    A widget's own state is dropped when a page without it runs, so the value lives under
    `NOT_SURE` and each page's slider starts from it.
    """
    value = st.slider(
        "Say “not sure” below this confidence",
        0.0,
        1.0,
        value=float(st.session_state.get(NOT_SURE, DEFAULT_NOT_SURE)),
        step=0.01,
        key=key,
        help="at 0 it always answers; the Robustness page's coverage curve shows what share of "
        "digits gets an answer, and how many of those answers are right, at each threshold",
    )
    st.session_state[NOT_SURE] = value
    return value


# -- figures ------------------------------------------------------------------------------------


def perturbation_chart(perturbation: np.ndarray, epsilon: float) -> go.Figure:
    """The change to each pixel, amplified so that ±ε spans the whole colour scale."""
    scale = max(epsilon, 1e-6)
    fig = go.Figure(
        go.Heatmap(
            z=perturbation,
            colorscale=DIVERGING,
            zmin=-scale,
            zmax=scale,
            colorbar=dict(title="ink", thickness=12, tickformat="+.2f"),
            hovertemplate="row %{y}, column %{x}: %{z:+.3f}<extra></extra>",
        )
    )
    title = f"perturbation, amplified ×{1 / scale:.0f}" if epsilon > 0 else "perturbation: none"
    return image_axes(fig.update_layout(title=title), height=300)


def attack_chart(curves: Mapping[str, Mapping[str, np.ndarray]]) -> go.Figure:
    """Accuracy against ε: one colour per model, solid for FGSM, dashed for PGD."""
    fig = go.Figure()
    for i, (name, by_method) in enumerate(curves.items()):
        for method, dash in zip(ATTACKS, ("solid", "dash")):
            fig.add_trace(
                go.Scatter(
                    x=EPSILONS,
                    y=by_method[method],
                    name=f"{name} · {ATTACK_NAMES[method]}",
                    mode="lines+markers",
                    line=dict(color=PALETTE[i % len(PALETTE)], dash=dash),
                    hovertemplate="ε = %{x}: %{y:.1%}<extra></extra>",
                )
            )
    fig.update_xaxes(title_text="ε: the largest change of any pixel (ink from 0 to 1)")
    fig.update_yaxes(title_text="accuracy on 1,000 test images", tickformat=".0%", range=[0, 1.02])
    return fig.update_layout(
        height=400, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=-0.25)
    )


def corruption_chart(curves: Mapping[str, Mapping[str, np.ndarray]]) -> go.Figure:
    """One panel per corruption, accuracy against its strength, one colour per model."""
    kinds = list(CORRUPTIONS)
    fig = make_subplots(rows=2, cols=3, subplot_titles=kinds, vertical_spacing=0.18, horizontal_spacing=0.06)
    for i, (name, by_kind) in enumerate(curves.items()):
        for k, kind in enumerate(kinds):
            fig.add_trace(
                go.Scatter(
                    x=CORRUPTIONS[kind].levels,
                    y=by_kind[kind],
                    name=name,
                    legendgroup=name,
                    showlegend=k == 0,
                    mode="lines+markers",
                    line_color=PALETTE[i % len(PALETTE)],
                    hovertemplate=f"{kind} %{{x}}: %{{y:.1%}}<extra></extra>",
                ),
                row=k // 3 + 1,
                col=k % 3 + 1,
            )
    for k, kind in enumerate(kinds):
        fig.update_xaxes(title_text=CORRUPTIONS[kind].unit, row=k // 3 + 1, col=k % 3 + 1)
    fig.update_yaxes(tickformat=".0%", range=[0, 1.02])
    return fig.update_layout(
        height=560, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=-0.15)
    )


def reliability_chart(before: Reliability, after: Reliability, temperature: float) -> go.Figure:
    """Accuracy per confidence bin before and after temperature scaling, side by side, and the diagonal."""
    centres = (before.edges[:-1] + before.edges[1:]) / 2
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="calibrated", line=dict(color="#444", dash="dot"))
    )
    for result, name, colour in (
        (before, "as trained (T = 1)", MUTED),
        (after, f"temperature scaled (T = {temperature:.2f})", ACCENT),
    ):
        fig.add_trace(
            go.Bar(
                x=centres,
                y=result.accuracy,
                name=f"{name}: ECE {result.ece:.2%}",
                marker_color=colour,
                customdata=np.stack([result.counts, result.confidence], axis=1),
                hovertemplate="%{customdata[0]} images, %{customdata[1]:.1%} sure on average, "
                "%{y:.1%} right<extra></extra>",
            )
        )
    fig.update_xaxes(
        title_text="confidence (the network's largest probability)", range=[0, 1], tickformat=".0%"
    )
    fig.update_yaxes(title_text="share right", range=[0, 1.02], tickformat=".0%")
    return fig.update_layout(
        barmode="group",
        bargap=0.1,
        height=400,
        margin=dict(l=10, r=10, t=30, b=10),
        legend=dict(orientation="h", y=-0.25),
    )


def coverage_chart(curve: Coverage, threshold: float) -> go.Figure:
    """Accuracy against coverage as the threshold rises, with the chosen threshold marked."""
    covered, accurate = curve.at(threshold)
    fig = go.Figure(
        go.Scatter(
            x=curve.coverage,
            y=curve.accuracy,
            mode="lines",
            name="every threshold",
            line_color=MUTED,
            customdata=curve.thresholds,
            hovertemplate="threshold %{customdata:.0%}: answers %{x:.1%}, right on %{y:.2%}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[covered],
            y=[accurate],
            mode="markers",
            name=f"threshold {threshold:.0%}",
            marker=dict(color=ACCENT, size=12),
            hovertemplate="answers %{x:.1%}, right on %{y:.2%}<extra></extra>",
        )
    )
    fig.update_xaxes(
        title_text="coverage: share of test images answered", tickformat=".0%", autorange="reversed"
    )
    fig.update_yaxes(title_text="accuracy on those", tickformat=".1%")
    return fig.update_layout(
        height=380, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=-0.25)
    )


def augmentation_of(model: MLP) -> str:
    """How a network was trained as far as distortions go, in words, from its record (a fine-tune:
    how its base was trained)."""
    training = model.record.first_training
    if training is None:
        return "augmentation unknown"
    augment = training.augment
    return "no augmentation" if augment == "none" else f"augmentation “{augment}”"


def adversarial_training_of(model: MLP) -> str:
    """Whether a network was trained on adversarial images too, in words, from its record."""
    training = model.record.first_training
    if training is None:
        return "training unknown"
    return (
        "no adversarial training"
        if not training.adversarial
        else f"adversarial training at ε {training.adversarial:g}"
    )


def describe_attack_curves(
    name: str, curves: Mapping[str, np.ndarray], at: Sequence[float] = REPORTED
) -> str:
    """One line: the accuracy on the clean images (ε = 0), and what is left at a few ε under each
    attack: what adversarial training buys, and what it costs."""
    where = [EPSILONS.index(e) for e in at]
    left = [
        f"{ATTACK_NAMES[m].split()[0]} " + " / ".join(f"{curves[m][i]:.1%}" for i in where) for m in ATTACKS
    ]
    clean = curves["fgsm"][EPSILONS.index(0.0)]  # no attack at all: every method starts there
    return f"**{name}**: clean {clean:.1%}; at ε = {' / '.join(f'{e:g}' for e in at)}: " + ", ".join(left)


def describe_smallest(epsilon: float | None, target: int | None) -> tuple[str, str]:
    """The smallest flipping ε as a metric's value and note."""
    aim = "the answer" if target is None else f"the answer to {target}"
    if epsilon is None:
        return "none", f"even ε = 1 does not change {aim}"
    if epsilon == 0:
        return "0", "it is so before any change"
    return f"{epsilon:.3f}", f"{epsilon * 255:.0f} of 255 grey levels change {aim}"
