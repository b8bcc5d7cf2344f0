"""The Compare runs page's helpers: the overlaid learning curves and the actions on a run.

Runs live in `services.runs`; their model files sit in the app's `models/runs/`, so making a run
active is the same thing as picking its model in the sidebar, and is remembered the same way.
A run as a `.keras` file is written by Keras, which the server never loads: the framework's own
process writes it (`services.framework_calls`) when the person asks, and the page keeps the
last one prepared, so a rerun does not write it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import plotly.colors
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from nn.core.config import PARAMETERS
from nn.core.events import EpochEnd
from nn.core.persistence import load_model
from services.framework_calls import FrameworkError, keras_file
from services.runs import RUNS, Run, RunStore

from .params import shown
from .session import ACTIVE

PALETTE = plotly.colors.qualitative.D3  # one colour per run, the same on both panels
NOTICE = "runs_notice"  # a message from a button's callback, shown on the next run of the page
KERAS = "runs_keras"  # the .keras file last prepared: ((run id, model file's mtime), its bytes)


def accuracy_curve(run: Run) -> list[float]:
    """Per epoch, the accuracy that compares runs fairly: on the test set when it was measured,
    else on the validation images, else on the training images."""
    return [
        next(a for a in (e.test_accuracy, e.val_accuracy, e.train_accuracy) if a is not None)
        for e in run.history
    ]


def curves_chart(runs: Sequence[Run]) -> go.Figure:
    """Loss and accuracy per epoch of each run, one colour per run on both panels; each named with
    its engine when they differ, as the same settings trained by two engines share a name."""
    engines = {run.engine for run in runs}
    names = [f"{run.name} ({engine_label(run)})" if len(engines) > 1 else run.name for run in runs]
    curves = [(name, run.history, accuracy_curve(run)) for name, run in zip(names, runs)]
    return overlay_chart(curves, "accuracy (test set)")


def engine_label(run: Run) -> str:
    """What trained it, as the sidebar names it ("NumPy (from scratch)"); "?" when unknown."""
    return shown(PARAMETERS["engine"], run.engine) if run.engine is not None else "?"


def engine_and_device(run: Run) -> str:
    """The engine, and on a line of its own where it computed (not recorded before engines were)."""
    return f"{engine_label(run)}  \n{run.device or 'device not recorded'}"


Curve = tuple[str, Sequence[EpochEnd], Sequence[float | None]]  # name, epochs, accuracy per epoch


def overlay_chart(curves: Sequence[Curve], accuracy_title: str) -> go.Figure:
    """Loss and an accuracy per epoch of several runs laid over each other, a colour per run."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("average training loss", accuracy_title))
    for i, (name, history, accuracy) in enumerate(curves):
        epochs = [e.epoch for e in history]
        colour = PALETTE[i % len(PALETTE)]
        common = dict(x=epochs, mode="lines+markers", legendgroup=f"{i}", line_color=colour)
        fig.add_trace(go.Scatter(y=[e.loss for e in history], name=name, **common), row=1, col=1)
        fig.add_trace(go.Scatter(y=list(accuracy), name=name, showlegend=False, **common), row=1, col=2)
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_yaxes(tickformat=".1%", row=1, col=2)
    fig.update_layout(legend=dict(orientation="h", y=-0.25), height=400, margin=dict(l=10, r=10, t=30, b=10))
    return fig


def settings_summary(run: Run) -> str:
    """The hyper-parameters that tell runs apart, in one short line."""
    if run.config is None:
        return "hyper-parameters unknown"
    t = run.config.training
    extras = [f"augment {t.augment}"] if t.augment != "none" else []
    return ", ".join([f"{t.optimizer} lr {t.lr:g}", f"batch {t.batch_size}", *extras])


def make_active(run: Run) -> None:
    """Button callback: use this run's model on every page, now and after a restart."""
    store = RunStore()
    path = store.models_dir / RUNS / run.model_path.name  # spelt as the sidebar's picker lists it
    if not run.model_path.is_file():
        st.session_state[NOTICE] = ("error", f"The model file of “{run.name}” is missing.")
        return
    store.set_active(path)
    st.session_state[ACTIVE] = str(path)
    st.session_state[NOTICE] = ("success", f"“{run.name}” is now the active model.")


def rename(store: RunStore, run: Run, key: str) -> None:
    """Button callback: rename to what the text box with `key` holds."""
    try:
        store.rename(run.id, st.session_state[key])
        st.session_state[NOTICE] = ("success", "Renamed.")
    except ValueError as exc:
        st.session_state[NOTICE] = ("error", str(exc).capitalize() + ".")


def delete(store: RunStore, run: Run) -> None:
    """Button callback: forget the run and delete its model file."""
    store.delete(run.id)
    st.session_state[NOTICE] = ("success", f"Deleted “{run.name}” and its model file.")


def is_active(run: Run, active_path: Path | None) -> bool:
    return active_path is not None and run.model_path == Path(active_path).resolve()


def keras_download(run: Run) -> str | None:
    """A "Prepare .keras" button, then the file's download button; a problem in words, or None.

    Prepared only when asked: the first file takes seconds (TensorFlow loading in the framework
    process). Kept in this session for the run's model file as it is, so reruns reuse it.
    """
    key = (run.id, run.model_path.stat().st_mtime)
    slot = st.empty()
    prepared = st.session_state.get(KERAS)
    if prepared is None or prepared[0] != key:
        if not slot.button(
            "Prepare .keras",
            icon=":material/deployed_code:",
            help="the same network for Keras 3 (keras.models.load_model), written by Keras in a "
            "process of its own; the first takes a few seconds, while TensorFlow loads",
        ):
            return None
        try:
            with st.spinner("Writing the .keras file…"):
                prepared = st.session_state[KERAS] = (key, keras_file(load_model(run.model_path)))
        except FrameworkError as exc:
            return f"The .keras file could not be written: {exc}"
    slot.download_button(
        "Download .keras",
        prepared[1],
        file_name=f"{run.model_path.stem}.keras",
        mime="application/zip",
        icon=":material/download:",
        help="a Keras 3 model of Keras' own layers: keras.models.load_model opens it, and it "
        "answers as this run does (probabilities, temperature included)",
    )
    return None
