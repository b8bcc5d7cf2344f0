"""Train page: choose hyper-parameters, press Train, watch the loss fall epoch by epoch."""

import streamlit as st

from services.job_states import JobState
from services.jobs import Progress
from ui import cache, interrupted, live, params, session, train_figures
from ui.hints import show_hints
from ui.jobs import figures_every, progress_every, started_since_drawn, stop_button, waiting_note
from ui.layer_maps import sample

config, problems = params.hyperparameter_sidebar()
blocked = session.job_runner_problem()
run = session.trainer()
running = run is not None and run.running
polled = live.served()  # the browser draws a running job itself, asking the server
drawn_every = progress_every(run, polled)
figures_drawn_every = figures_every(run, polled)

st.title("Train a network")
st.markdown(
    "Each **epoch** shows the network every training image once. For each small batch it makes "
    "a guess (*forward pass*), measures how wrong it was (the **loss**), works out which way "
    "to nudge every weight to be less wrong (*backpropagation*) and takes a small step that way "
    "(*gradient descent*). Set the hyper-parameters in the sidebar and press **Train**."
)

left, right, _ = st.columns([1, 1, 4])
# Not an on_click callback with the config as argument: that config would be the one drawn in
# the previous run, missing an edit made just before the click (typing a value, then clicking).
if left.button(
    "Train",
    type="primary",
    icon=":material/play_arrow:",
    disabled=running or bool(problems) or blocked is not None,
    width="stretch",
):
    session.start_training(config)
    st.rerun()  # redraw the buttons and the progress for the run that has just started
with right:
    stop_button(run, help="end the run after the current batch and keep the model trained so far")
if problems:
    st.error("Some settings cannot work together: see the messages in the sidebar.", icon=":material/error:")
if blocked:
    st.error(blocked, icon=":material/error:")
interrupted.show("train")


@st.fragment(run_every=drawn_every)
def live_progress() -> None:
    """How far the run is, and the last epoch's numbers: while it trains, redrawn by the browser
    every second (`ui.live`), or by this fragment where the server cannot answer the browser."""
    current = session.trainer()
    if current is None:
        st.info(
            "No run yet in this session. The chart of the loss appears here as soon as you press Train. "
            "For a first run in seconds rather than minutes, set **Training images** to 5,000 and "
            "**Epochs** to 5."
        )
        return
    progress = current.progress()
    if not progress.running and not session.run_settled():
        st.rerun()  # the whole app: the final figures, and the sidebar showing the saved model as active
    if started_since_drawn(drawn_every, progress):
        st.rerun()  # the whole app: the fragments at a running job's pace
    if progress.state is JobState.WAITING:
        waiting_note(progress)
    elif progress.running and polled:
        live.progress_view(current, progress)  # figures too, by the browser; it reruns this when the run ends
        return
    elif device := live.device_line(progress):
        st.caption(device)  # "Training on TensorFlow 2.21.0 on the CPU…", as the browser shows it above
    if progress.state is JobState.RUNNING:
        within, text = live.progress_line(progress)
        st.progress(within, text=text)
    if metrics := live.epoch_metrics(progress):
        for column, (label, value) in zip(st.columns(len(metrics)), metrics):
            column.metric(label, value)
    _outcome(progress)
    if not progress.running:
        show_hints(session.hints_after(progress))


@st.fragment(run_every=figures_drawn_every)
def live_figures() -> None:
    """The run's charts, redrawn every few seconds while it trains where the browser does not draw
    them itself (`ui.live`), and once it has ended.

    Redrawing them with the progress would cost the browser a good part of the core the worker
    beside it needs. They are redrawn whether or not an epoch has ended since: in the default
    run one has, as its epochs take under a second.
    """
    current = session.trainer()
    if current is None:
        return
    progress = current.progress()
    if not (progress.state is JobState.RUNNING and polled):
        train_figures.draw(progress, sample(cache.mnist()))


def _outcome(progress: Progress) -> None:
    if progress.state is JobState.CANCELLED:
        st.info("Cancelled before it started.", icon=":material/cancel:")
    elif progress.error:
        st.error(progress.error, icon=":material/error:")
        if progress.unsaved is not None:
            st.download_button(
                "Download the trained model (.npz)",
                progress.unsaved,
                file_name="digitlab-model.npz",
                mime="application/octet-stream",
                icon=":material/download:",
            )
    elif progress.end is not None and progress.end.status == "diverged":
        st.warning(progress.end.message, icon=":material/warning:")
    elif progress.end is not None and progress.end.status == "stopped":
        st.warning(progress.end.message.capitalize() + ".", icon=":material/stop_circle:")
    if progress.saved is not None:
        st.success(
            f"Saved as `{progress.saved.model_path.name}`; it is now the active model for the other pages.",
            icon=":material/check_circle:",
        )


# The figures sit below the live progress but are sent first: a run that ends during this script
# run then never shows "Saved as" beside the previous epoch's charts while the new ones arrive.
progress_area, figures_area = st.container(), st.container()
with figures_area:
    live_figures()
with progress_area:
    live_progress()
