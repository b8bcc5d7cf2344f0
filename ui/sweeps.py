"""The Sweeps page's helpers: the grid form, the live and final tables, the curves, accuracy by value.

A sweep runs in the server's runner (`ui.cache.sweeps()`), not in a page: the page reads its
`services.sweeps.SweepView` from fragments while it runs (the table every second, the curves
every few seconds, as the Train page does), and from the store once it is over, so a sweep
started in one browser tab — or from the command line — can be watched and reopened from any
other.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from nn.core.config import KINDS, PARAMETERS, Kind, RunConfig
from services.sweep_store import SweepStore
from services.sweeps import (
    HONEST_CHOICE,
    MAX_AXES,
    SWEEPABLE,
    Axis,
    Grid,
    Row,
    SweepError,
    Sweeps,
    SweepView,
    parse_values,
)

from . import cache, params
from .runs import NOTICE, make_active, overlay_chart

CURRENT = "sweep_pick"  # the sweep picker's key: the id of the sweep the page shows
VALIDATION_SUGGESTED = 10_000


def grid_from_form(
    base: RunConfig, names: Sequence[str], typed: dict[str, Any]
) -> tuple[Grid | None, list[str]]:
    """The grid the form describes, or None and every problem in words.

    `typed` holds each chosen parameter's values: the text of its box, or the options ticked.
    """
    if not names:
        return None, ["choose one to three parameters to sweep"]
    axes, problems = [], []
    for name in names:
        raw = typed.get(name)
        try:
            values = parse_values(name, raw) if isinstance(raw, str) else tuple(raw or ())
        except SweepError as exc:
            problems += exc.problems
            continue
        axes.append(Axis(name, values))
    if problems:
        return None, problems
    grid = Grid(base, tuple(axes))
    problems = grid.problems()
    return (None, problems) if problems else (grid, [])


def label(name: str) -> str:
    """A parameter's name in the app, as the sidebar shows it."""
    return PARAMETERS[name].label


def show(name: str, value: Any) -> str:
    """A value of parameter `name` as the sidebar names it: 0.03, 128-64, adam, TensorFlow."""
    return params.shown(PARAMETERS[name], value)


def status_table(view: SweepView) -> list[dict[str, Any]]:
    """The live table: each run in grid order, its state and its latest held-out accuracy."""
    return [_cells(row, view.grid.names) | {"status": row.status} for row in view.rows]


def results_table(view: SweepView) -> list[dict[str, Any]]:
    """The final table, best validation accuracy first. No test accuracy: see `HONEST_CHOICE`."""
    table = []
    for rank, row in enumerate(view.ranked(), 1):
        seconds = row.run.seconds if row.run is not None else None
        table.append(
            {"rank": rank}
            | _cells(row, view.grid.names)
            | {
                "time (s)": round(seconds) if seconds is not None else None,
                "run": row.run.id if row.run is not None else None,
                "status": row.status if not row.message else f"{row.status}: {row.message}",
            }
        )
    return table


def _cells(row: Row, names: tuple[str, ...]) -> dict[str, Any]:
    return {label(n): show(n, row.point[n]) for n in names} | {
        "val. accuracy": f"{row.val_accuracy:.2%}" if row.val_accuracy is not None else "—",
        "epochs": f"{len(row.history)} / {row.epochs}",
    }


def curves_chart(view: SweepView) -> go.Figure:
    """Every run's loss and validation accuracy, overlaid, as far as each has got."""
    curves = [(row.label, row.history, [e.val_accuracy for e in row.history]) for row in view.rows]
    return overlay_chart(curves, "accuracy (validation images)")


def heatmap_matrix(
    view: SweepView, x: str, y: str, fixed: dict[str, Any] | None = None
) -> tuple[list[str], list[str], list[list[float | None]]]:
    """Validation accuracy by the values of `x` (columns) and `y` (rows), the other axes at `fixed`."""
    axes = {axis.name: axis.values for axis in view.grid.axes}
    z: list[list[float | None]] = [[None] * len(axes[x]) for _ in axes[y]]
    for row in view.rows:
        if all(row.point[name] == value for name, value in (fixed or {}).items()):
            z[axes[y].index(row.point[y])][axes[x].index(row.point[x])] = row.val_accuracy
    return [show(x, v) for v in axes[x]], [show(y, v) for v in axes[y]], z


def heatmap_chart(view: SweepView, x: str, y: str, fixed: dict[str, Any] | None = None) -> go.Figure:
    xs, ys, z = heatmap_matrix(view, x, y, fixed)
    text = [[f"{v:.2%}" if v is not None else "" for v in line] for line in z]
    fig = go.Figure(
        go.Heatmap(
            x=xs,
            y=ys,
            z=z,
            text=text,
            texttemplate="%{text}",
            colorscale="Viridis",
            colorbar=dict(title="val. acc.", tickformat=".0%"),
            hovertemplate=f"{label(x)} %{{x}}<br>{label(y)} %{{y}}<br>"
            "validation accuracy %{text}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text=label(x), type="category")
    fig.update_yaxes(title_text=label(y), type="category")
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=10, b=10))
    return fig


def accuracy_by_value(view: SweepView) -> tuple[list[str], list[float | None]]:
    """A one-parameter sweep's values, in the grid's order, and each one's validation accuracy."""
    [axis] = view.grid.axes
    by_value = {show(axis.name, row.point[axis.name]): row.val_accuracy for row in view.rows}
    values = [show(axis.name, v) for v in axis.values]
    return values, [by_value.get(v) for v in values]


def accuracy_by_value_chart(view: SweepView) -> go.Figure:
    """Validation accuracy against the one swept parameter: where the good values lie, at a glance.

    The values sit evenly spaced in the order they were given: sweeps of the learning rate or
    weight decay are usually spaced by factors, and widths are not numbers on one axis at all.
    """
    name = view.grid.names[0]
    values, accuracies = accuracy_by_value(view)
    fig = go.Figure(
        go.Scatter(
            x=values,
            y=accuracies,
            mode="lines+markers+text",
            text=[f"{a:.2%}" if a is not None else "" for a in accuracies],
            textposition="top center",
            hovertemplate=f"{label(name)} %{{x}}<br>validation accuracy %{{y:.2%}}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text=label(name), type="category")
    fig.update_yaxes(title_text="validation accuracy", tickformat=".1%")
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=30, b=10))
    return fig


def best_run(view: SweepView) -> None:
    """The chosen run: its validation and test accuracy, why only its test accuracy, and its button."""
    best = view.best()
    if best is None:
        st.warning("No run of this sweep finished with a saved model: there is nothing to choose.")
        return
    cols = st.columns(3)
    cols[0].metric("Best run", best.label)
    cols[1].metric("Validation accuracy", f"{best.val_accuracy:.2%}")
    test = best.run.test_accuracy
    cols[2].metric("Its test accuracy", f"{test:.2%}" if test is not None else "—")
    st.caption(HONEST_CHOICE)
    # Not an on_click callback: inside the page's fragment that would redraw the fragment alone,
    # and the sidebar's model picker and the notice at the top must show the change too.
    if st.button(
        "Make the best run active",
        icon=":material/check_circle:",
        help="use this run's model on every page, now and after a restart",
    ):
        make_active(best.run)
        st.rerun()


def start(grid: Grid, name: str) -> None:
    """Start the sweep in the server's runner and show it."""
    sweep = cache.sweeps().start(grid, name.strip() or None)
    st.session_state[CURRENT] = sweep.id


def hold_out_validation() -> None:
    """Button callback: set the sidebar's validation images to the suggested number (a sweep ranks
    its runs on held-out images, `services.sweeps.Grid.problems`)."""
    params.set_value("val_size", VALIDATION_SUGGESTED)


def sweep_choices(store: SweepStore) -> dict[int, str]:
    """Every recorded sweep, newest first, as the picker shows it."""
    return {s.id: f"sweep {s.id} · {s.name}" for s in store.sweeps()}


def notice() -> None:
    """A message left by a button's callback (making a run active)."""
    kind, message = st.session_state.pop(NOTICE, (None, None))
    if kind:
        (st.success if kind == "success" else st.error)(message)


def setup_form(config: RunConfig, problems: dict[str, str], book: Sweeps) -> None:
    """Choose the parameters and their values (the rest from the sidebar's `config`), then start."""
    names = st.multiselect(
        f"Parameters to sweep (one to {MAX_AXES})",
        SWEEPABLE,
        default=[name for name in SWEEPABLE if PARAMETERS[name].swept_by_default],
        max_selections=MAX_AXES,
        format_func=label,
        key="sweep_names",
    )
    typed = {name: _values_input(name, config) for name in names}
    grid, grid_problems = grid_from_form(config, names, typed)
    title = st.text_input("Name (optional)", placeholder=grid.describe() if grid else "", key="sweep_name")
    if problems:
        st.error("Some settings in the sidebar cannot work together: see the messages there.")
    for problem in grid_problems:
        st.error(problem, icon=":material/error:")
    if config.training.val_size == 0:
        st.button(f"Hold out {VALIDATION_SUGGESTED:,} images for validation", on_click=hold_out_validation)
    if grid is not None:
        st.info(
            f"{grid.size} run{'s' * (grid.size != 1)} on {book.runner.place}, each judged on "
            f"{config.training.val_size:,} validation images held out of its training set.",
            icon=":material/info:",
        )
    ready = grid is not None and not problems
    if st.button("Start the sweep", type="primary", icon=":material/play_arrow:", disabled=not ready):
        start(grid, title)
        st.rerun()


def _values_input(name: str, config: RunConfig) -> Any:
    spec = PARAMETERS[name]
    if spec.kind is Kind.CHOICE:
        return st.multiselect(
            spec.label,
            spec.choices,
            default=list(spec.choices),
            format_func=partial(params.shown, spec),
            key=f"sweep_{name}",
        )
    return st.text_input(
        spec.label,
        value=spec.text(spec.suggested_values or (config.values()[name],)),
        key=f"sweep_{name}",
        help=f"{spec.help}; values separated by {KINDS[spec.kind].separated_by}",
    )


def show_view(view: SweepView, book: Sweeps) -> None:
    """A sweep: live table and Cancel while it runs; results, heatmap and best run once over."""
    started = datetime.fromisoformat(view.created).astimezone()
    st.caption(f"{view.grid.describe()} on {view.place}, started {started:%d %b %H:%M}.")
    if view.running:
        over = sum(not row.state.unfinished for row in view.rows)
        st.progress(over / len(view.rows), text=f"{over} of {len(view.rows)} runs over")
        st.table(status_table(view))  # plain HTML: a few rows, each changing every second
        if view.id in book.live:
            st.button(
                "Cancel the sweep",
                icon=":material/cancel:",
                on_click=book.cancel,
                args=(view.id,),
                help="waiting runs are dropped; running ones end after their batch, keeping their model",
            )
        else:
            st.caption("Started by another process (the command line?): cancel it there.")
    else:
        st.subheader("Results")
        st.dataframe(results_table(view), hide_index=True, width="stretch")
        best_run(view)
        _across_grid(view)


def _across_grid(view: SweepView) -> None:
    """Validation accuracy over the grid: a line for one parameter, a heatmap for two or three (a
    third is fixed at a value chosen here)."""
    names = view.grid.names
    if len(names) == 1:
        st.subheader(f"Validation accuracy by {label(names[0]).lower()}")
        st.plotly_chart(accuracy_by_value_chart(view), width="stretch")
        return
    st.subheader("Validation accuracy across the grid")
    fixed = {}
    for axis in view.grid.axes[2:]:
        fixed[axis.name] = st.selectbox(
            label(axis.name),
            axis.values,
            format_func=partial(show, axis.name),
            key=f"heat_{axis.name}",
        )
    st.plotly_chart(heatmap_chart(view, names[1], names[0], fixed), width="stretch")
