"""The Step by step page's pieces: which image, the scratch network, and the numbers as formulas,
strips and tables.

Every number comes from `nn.explain.stepwise` / `nn.explain.gradcheck`; this module only lays them out. The
scratch network the page steps on lives in `st.session_state[SCRATCH]`, one per browser
session, tied to the model file (path and modification time) it was copied from: choosing
another model, or the file changing, starts a fresh copy. The saved model is never touched.

The same gradients by TensorFlow come from the framework's own process
(`services.framework_calls.compare_step`: the server never loads TensorFlow), only when asked,
and are kept in `st.session_state[TENSORFLOW]` per model file and digit, so a rerun (any click)
shows them again without asking again. Beside them is `nn.core`'s own code, read from its source.
"""

from __future__ import annotations

import hashlib
import inspect
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from nn.core.data import MNIST
from nn.core.layers import Dense, ReLU
from nn.core.losses import cross_entropy
from nn.core.network import MLP
from nn.explain.gradcheck import GradientCheck, check_gradients
from nn.explain.stepwise import NeuronSum, SoftmaxSteps, Trace, WeightChange, scratch_copy, sgd_steps
from nn.framework.comparison import GradientComparison
from services.framework_calls import FrameworkError, compare_step

from .charts import DIGITS
from .inside import DIVERGING, DRAWN_DIGIT, image_axes

SCRATCH = "step_scratch"
MISTAKE = "step_mistake"  # (model path, test index) of the random mistake shown
TENSORFLOW = "step_tensorflow"  # {(model file, its mtime, the digit's hash, label): GradientComparison}
# nn.core's code that computes the gradients TensorFlow's tape is compared with, in the order it runs.
BACKWARD_PASS = (MLP.loss_and_gradients, cross_entropy, MLP.backward, ReLU.backward, Dense.backward)
SOURCES = ("your drawing", "a test image", "a random mistake")
TOP_TERMS = 6
CHANGES_SHOWN = 10
SIDE = 28


@dataclass(frozen=True)
class Example:
    """The image the page takes apart (28×28, uint8 or [0, 1] float), its true label, its origin."""

    image: np.ndarray
    label: int
    title: str


@dataclass
class Scratch:
    """A copy of the saved network that the update buttons change, and how many steps it took."""

    source: tuple[str, float]  # (model path, modification time) it was copied from
    model: MLP
    steps: int = 0


# -- choosing the input ---------------------------------------------------------------------


def available_sources() -> list[str]:
    """The drawing is offered only while the Draw page holds one."""
    return [s for s in SOURCES if s != SOURCES[0] or st.session_state.get(DRAWN_DIGIT) is not None]


def random_mistake(predicted: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> int | None:
    """The index of a random misclassified test image (None if the network makes no mistake)."""
    wrong = np.flatnonzero(predicted != labels)
    return int(rng.choice(wrong)) if len(wrong) else None


def test_example(mnist: MNIST, index: int, kind: str = "Test image") -> Example:
    return Example(mnist.test_images[index], int(mnist.test_labels[index]), f"{kind} #{index}")


# -- the scratch network ----------------------------------------------------------------------


def scratch(model: MLP, path: Path) -> Scratch:
    """This session's scratch copy of the model saved at `path`, fresh if the file changed."""
    source = (str(path), path.stat().st_mtime)
    current = st.session_state.get(SCRATCH)
    if current is None or current.source != source:
        current = st.session_state[SCRATCH] = Scratch(source, scratch_copy(model))
    return current


def take_steps(current: Scratch, example: Example, lr: float, steps: int) -> None:
    sgd_steps(current.model, example.image, example.label, lr, steps)
    current.steps += steps


def reset(model: MLP, path: Path) -> None:
    st.session_state.pop(SCRATCH, None)
    scratch(model, path)


# -- formulas ------------------------------------------------------------------------------------


def number(value: float, digits: int = 4) -> str:
    """A number for a formula: 4 significant digits, negative ones in parentheses."""
    text = f"{value:.{digits}g}".replace("e", r"\mathrm{e}")
    return f"({text})" if value < 0 else text


def source_name(layer: int, index: int) -> str:
    """What feeds a neuron: a pixel for the first layer, a unit of the layer below otherwise."""
    if layer == 0:
        row, col = divmod(index, SIDE)
        return f"pixel ({row}, {col})"
    return f"unit {index} of hidden {layer}"


def layer_formula(layer: int, last: bool) -> str:
    """Dense layer `layer` (0 = the first) as a formula; a hidden layer adds its ReLU."""
    n, below = layer + 1, "x" if layer == 0 else f"a^{{({layer})}}"
    z = f"z^{{({n})}} = {below}\\,W^{{({n})}} + b^{{({n})}}"
    return z if last else z + rf",\qquad a^{{({n})}} = \mathrm{{ReLU}}(z^{{({n})}}) = \max(0, z^{{({n})}})"


def neuron_latex(spelled: NeuronSum) -> str:
    """A hidden neuron's z_j written as its largest terms, the rest summed, and the bias; then ReLU."""
    j, n = spelled.neuron, spelled.layer + 1
    x = "x" if spelled.layer == 0 else f"a^{{({spelled.layer})}}"
    terms = " + ".join(f"{number(w)}\\times{number(v)}" for w, v in zip(spelled.weights, spelled.inputs))
    lines = [
        rf"z^{{({n})}}_{{{j}}} &= \textstyle\sum_i {x}_i\,W^{{({n})}}_{{i,{j}}} + b^{{({n})}}_{{{j}}}",
        rf"&= {terms} \quad \text{{(the {len(spelled.terms)} largest terms)}}",
        rf"&\quad + {number(spelled.rest)} \quad \text{{(the other {spelled.others} terms)}}"
        rf" + {number(spelled.bias)} \quad (b^{{({n})}}_{{{j}}})",
        rf"&= {number(spelled.z)}",
        rf"a^{{({n})}}_{{{j}}} &= \max(0,\ {number(spelled.z)}) = {number(spelled.a)}",
    ]
    return r"\begin{aligned}" + r"\\".join(lines) + r"\end{aligned}"


def terms_table(spelled: NeuronSum) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "input": [source_name(spelled.layer, int(i)) for i in spelled.sources],
            "x (input)": spelled.inputs,
            "w (weight)": spelled.weights,
            "w·x": spelled.terms,
        }
    )


def softmax_latex(steps: SoftmaxSteps, label: int) -> str:
    """p_y for the true digit with its real numbers, and the loss.

    Sums and probabilities get 8 significant digits: a sure network's p is 0.99997…, which at
    4 digits would read as exactly 1 beside a loss that is not 0.
    """
    y, p = label, steps.probabilities[label]
    top, total = number(steps.largest), number(steps.total, 8)
    return (
        r"\begin{aligned}"
        rf"p_k &= \frac{{e^{{z_k - \max z}}}}{{\sum_j e^{{z_j - \max z}}}},\qquad \max z = {top}"
        rf",\quad \textstyle\sum_j e^{{z_j - \max z}} = {total}\\"
        rf"p_{{{y}}} &= \frac{{e^{{{number(steps.logits[y])} - {top}}}}}{{{total}}}"
        rf" = \frac{{{number(steps.exps[y], 8)}}}{{{total}}} = {number(p, 8)}\\"
        rf"L &= -\log p_{{{y}}} = -\log {number(p, 8)} = {number(float(-np.log(p)))}"
        r"\end{aligned}"
    )


def softmax_table(steps: SoftmaxSteps) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "digit": DIGITS,
            "z (logit)": steps.logits,
            "z − max z": steps.shifted,
            "exp(z − max z)": steps.exps,
            "p": steps.probabilities,
        }
    )


def output_delta_table(traced: Trace) -> pd.DataFrame:
    """δ at the output, digit by digit: the probability minus 1 for the true digit."""
    return pd.DataFrame(
        {
            "digit": DIGITS,
            "p": traced.probabilities,
            f"onehot({traced.label})": np.eye(len(DIGITS), dtype=int)[traced.label],
            "δ = p − onehot": traced.output.delta,
        }
    )


def hidden_delta_formula(layer: int) -> str:
    n, above = layer + 1, layer + 2
    back = rf"\big(\delta^{{({above})}}\, W^{{({above})\top}}\big)"
    return rf"\delta^{{({n})}} = {back} \odot [\,z^{{({n})}} > 0\,]"


# -- figures ----------------------------------------------------------------------------------


def strip_chart(rows: dict[str, np.ndarray], title: str) -> go.Figure:
    """A layer as one coloured cell per unit (a row per quantity), exact values on hover.

    Blue below zero, red above, white at zero, so a silent ReLU unit shows as white.
    """
    names = list(rows)
    values = np.vstack([np.asarray(rows[n], dtype=np.float64) for n in names])
    peak = float(np.abs(values).max()) or 1.0
    fig = go.Figure(
        go.Heatmap(
            z=values,
            y=names,
            colorscale=DIVERGING,
            zmin=-peak,
            zmax=peak,
            colorbar=dict(thickness=10),
            hovertemplate="unit %{x}, %{y}: %{z:.6g}<extra></extra>",
            xgap=0,
        )
    )
    fig.update_xaxes(title_text="unit", showgrid=False)
    fig.update_yaxes(autorange="reversed", showgrid=False)
    return fig.update_layout(title=title, height=90 + 40 * len(names), margin=dict(l=10, r=10, t=40, b=10))


def gradient_image_chart(gradient: np.ndarray, neuron: int, delta: float) -> go.Figure:
    """dL/dW[:, neuron] of the first layer as the 28×28 image it multiplies."""
    image = gradient.reshape(SIDE, SIDE)
    peak = float(np.abs(image).max()) or 1.0
    fig = go.Figure(
        go.Heatmap(
            z=image,
            colorscale=DIVERGING,
            zmin=-peak,
            zmax=peak,
            colorbar=dict(thickness=10),
            hovertemplate="row %{y}, column %{x}: dL/dw = %{z:.6g}<extra></extra>",
        )
    )
    title = f"dL/dw into neuron {neuron} (δ = {delta:.4g})"
    return image_axes(fig.update_layout(title=title), height=320)


def before_after_chart(before: np.ndarray, after: np.ndarray, label: int) -> go.Figure:
    """The ten probabilities of the saved network beside those of the stepped copy."""
    fig = go.Figure()
    for name, probs, colour in (("saved network", before, "#9aa5b1"), ("after your steps", after, "#ff4b4b")):
        fig.add_trace(
            go.Bar(
                x=DIGITS,
                y=probs,
                name=name,
                marker_color=colour,
                hovertemplate=f"{name}, digit %{{x}}: %{{y:.4%}}<extra></extra>",
            )
        )
    fig.update_xaxes(title_text=f"digit (true: {label})", tickvals=DIGITS)
    fig.update_yaxes(title_text="probability", range=[0, 1.05], tickformat=".0%")
    fig.update_layout(barmode="group", legend=dict(orientation="h", y=1.15))
    return fig.update_layout(height=300, margin=dict(l=10, r=10, t=30, b=10))


# -- tables ---------------------------------------------------------------------------------


def changes_table(changes: list[WeightChange]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "layer": [f"W{c.layer + 1}" for c in changes],
            "from": [source_name(c.layer, c.source) for c in changes],
            "to unit": [c.target for c in changes],
            "before": [c.before for c in changes],
            "after": [c.after for c in changes],
            "change": [c.change for c in changes],
        }
    )


def gradient_check_table(checks: list[GradientCheck]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "weight": [f"W{c.layer + 1}[{c.source}, {c.target}]" for c in checks],
            "backprop dL/dw": [c.backprop for c in checks],
            "(L(w+h) − L(w−h)) / 2h": [c.numeric for c in checks],
            "relative error": [c.relative_error for c in checks],
            "resolvable": [c.resolvable for c in checks],
        }
    )


@st.cache_data(max_entries=64, show_spinner="Checking gradients in float64…")
def cached_gradient_check(
    params: bytes, sizes: tuple[int, ...], dtype: str, image: np.ndarray, label: int, seed: int
) -> list[GradientCheck]:
    """`check_gradients` for a network given by its parameter bytes (the scratch copy changes)."""
    model = MLP(sizes[1:-1], dtype=dtype)  # its drawn weights are replaced at once
    model.params[...] = np.frombuffer(params, dtype=dtype)
    return check_gradients(model, image, label, seed=seed)


def gradient_check(model: MLP, example: Example, seed: int) -> list[GradientCheck]:
    return cached_gradient_check(
        model.params.tobytes(), model.layer_sizes, model.dtype.name, example.image, example.label, seed
    )


# -- the same step in TensorFlow ------------------------------------------------------------------


def tensorflow_comparison(model: MLP, path: Path, example: Example) -> GradientComparison | None:
    """TensorFlow's gradients of `example` beside `model`'s (saved at `path`): a button until asked,
    then the answer, kept for this model file and digit. A failure is shown in words."""
    done = st.session_state.setdefault(TENSORFLOW, {})
    key = (str(path), path.stat().st_mtime, _digest(example.image), example.label)
    slot = st.empty()  # the button, gone once it has done its work
    if key not in done and slot.button(
        "Compute the same gradients in TensorFlow",
        icon=":material/compare_arrows:",
        help="in a process of its own; the first time takes a few seconds, while TensorFlow loads",
    ):
        try:
            with st.spinner("TensorFlow is computing the gradients…"):
                done[key] = compare_step(model, example.image, example.label)
        except FrameworkError as exc:
            st.error(f"TensorFlow could not compute them: {exc}", icon=":material/error:")
        else:
            slot.empty()
    return done.get(key)


def _digest(image: np.ndarray) -> str:
    """A digit told apart by its pixels (a drawing has no number), not held in full by the key."""
    return hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest()


def numpy_gradient_code() -> str:
    """`nn.core`'s backward pass as its source files have it, each function headed by where it is."""
    return "\n\n".join(
        f"# {function.__module__}: {function.__qualname__}\n{textwrap.dedent(inspect.getsource(function))}"
        for function in BACKWARD_PASS
    )


def relative_difference(comparison: GradientComparison) -> str:
    """The largest difference between the engines as a share of the largest gradient; "—" if every
    gradient is 0 (a digit the network is certain of), when there is nothing to be a share of."""
    if comparison.largest_gradient == 0:
        return "—"
    return f"{comparison.largest_difference / comparison.largest_gradient:.1e}"
