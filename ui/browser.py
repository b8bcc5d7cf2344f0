"""The Predictions page's browsing state: filters, page number and the inspected image.

The filters are ordinary widgets with keys; the callbacks here change several of them at once
(a click on a confusion-matrix cell sets both digits) and put the page back to 1 whenever the
selection changes, so the grid never shows an empty page past the end.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from . import predictions

SHOW, TRUE, PREDICTED, SORT, PAGE, INSPECT, CONFUSION = (
    "show",
    "true_digit",
    "predicted_digit",
    "sort",
    "page",
    "inspect",
    "confusion",
)
ALL, MISTAKES = "all", "misclassified"
PER_PAGE = 24


def filtered(test: predictions.Predictions) -> np.ndarray:
    """Indices of the test images that match the current filters, sorted as asked."""
    state = st.session_state
    return predictions.select(
        test,
        mistakes_only=state.get(SHOW, MISTAKES) == MISTAKES,
        true_class=state.get(TRUE),
        predicted_class=state.get(PREDICTED),
        sort=predictions.SORTS[state.get(SORT, next(iter(predictions.SORTS)))],
    )


def selected_cell() -> tuple[int, int] | None:
    """The (true, predicted) pair the filters single out, to outline it in the matrix."""
    true, predicted = st.session_state.get(TRUE), st.session_state.get(PREDICTED)
    return (true, predicted) if true is not None and predicted is not None else None


def choose_cell() -> None:
    """A click on a confusion-matrix cell: show exactly the images of that (true, predicted) pair."""
    points = st.session_state[CONFUSION].selection.points
    if not points:
        return
    predicted, true = int(points[0]["x"]), int(points[0]["y"])
    st.session_state[TRUE], st.session_state[PREDICTED] = true, predicted
    st.session_state[SHOW] = ALL if true == predicted else MISTAKES
    restart()


def clear_filters() -> None:
    st.session_state[TRUE] = st.session_state[PREDICTED] = None
    restart()


def restart() -> None:
    """The selection changed: back to its first page, inspecting its first image."""
    st.session_state.pop(PAGE, None)  # the pager comes back on its default, page 1
    st.session_state[INSPECT] = None


def inspect(index: int) -> None:
    st.session_state[INSPECT] = index


def keep_page_in_range(n_pages: int) -> None:
    """Call before drawing the pager: a page past the end (after a model switch) becomes page 1."""
    if st.session_state.get(PAGE, 1) > n_pages:
        st.session_state.pop(PAGE)


def inspected(indices: np.ndarray) -> int | None:
    """The image to show in detail: the one clicked, else the first of the selection."""
    chosen = st.session_state.get(INSPECT)
    if chosen is not None:
        return chosen
    return int(indices[0]) if len(indices) else None
