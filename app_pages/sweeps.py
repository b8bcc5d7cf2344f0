"""Sweeps: one run per combination of hyper-parameter values, watched live, ranked honestly."""

import streamlit as st

from nn.core.errors import DigitLabError
from services.sweep_store import SweepStore
from ui import cache, params, sweeps
from ui.jobs import FIGURES_SECONDS, PROGRESS_SECONDS

config, problems = params.hyperparameter_sidebar()

st.title("Sweeps")
st.caption(
    "The quickest way to understand a hyper-parameter is to sweep it: the same network at several "
    "learning rates, or three widths × three learning rates, every curve side by side. Each "
    "combination is an ordinary run, listed on the Compare runs page too; the settings you do "
    "not sweep come from the sidebar (pick a preset there)."
)
sweeps.notice()
try:
    store = SweepStore()
    book = cache.sweeps()
except DigitLabError as exc:  # a damaged run store, or a Dask scheduler that cannot be reached
    st.error(str(exc), icon=":material/error:")
    st.stop()

with st.expander("New sweep", icon=":material/add:", expanded=sweeps.CURRENT not in st.session_state):
    sweeps.setup_form(config, problems, book)

choices = sweeps.sweep_choices(store)
if not choices:
    st.info("No sweep yet: set one up above and start it.", icon=":material/info:")
    st.stop()
if st.session_state.get(sweeps.CURRENT) not in choices:
    st.session_state[sweeps.CURRENT] = next(iter(choices))
chosen = st.selectbox("Sweep", list(choices), format_func=choices.get, key=sweeps.CURRENT)
try:
    running = book.view(chosen).running
except DigitLabError as exc:  # a recorded sweep this version cannot read
    st.error(str(exc), icon=":material/error:")
    st.stop()


@st.fragment(run_every=PROGRESS_SECONDS if running else None)
def live() -> None:
    """Redrawn every second while the sweep runs: its table grows as runs report."""
    view = book.view(chosen)
    sweeps.show_view(view, book)
    if running and not view.running:
        st.rerun()  # the whole page: the results replace the live view, and the redrawing stops


@st.fragment(run_every=FIGURES_SECONDS if running else None)
def curves() -> None:
    """Every run's curves, redrawn every few seconds while the sweep runs: a chart costs the
    browser far more to redraw than the table, on the cores the runs train on."""
    st.plotly_chart(sweeps.curves_chart(book.view(chosen)), width="stretch")


live()
curves()
