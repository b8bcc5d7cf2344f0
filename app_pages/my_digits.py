"""Your handwriting: the digits you labelled on the Draw page, and fine-tuning the model on them."""

from dataclasses import replace

import streamlit as st

from services.finetune import FineTuneSettings
from services.job_states import JobState
from services.user_digits import UserDigits, UserDigitsError
from ui import session, teach
from ui.jobs import fraction_done, progress_every, started_since_drawn, stop_button, waiting_note
from ui.pixels import enlarge

COLUMNS = 10

st.title("Your handwriting")
st.caption(
    "A network trained on MNIST has only ever seen the handwriting of about 250 people: "
    "American Census Bureau clerks and high-school students. Label your own drawings on the "
    "**Draw** page (*Add to my digits*), then fine-tune: the network keeps training for a "
    "moment on MNIST mixed with your digits."
)
try:
    digits = UserDigits().all()
except UserDigitsError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()

if not digits:
    st.info(
        "You have no digits yet: draw one on the Draw page, choose what it really is and press "
        "*Add to my digits*.",
        icon=":material/draw:",
    )
else:
    st.subheader(f"Your {len(digits)} digit{'s' * (len(digits) != 1)}")
    st.caption(
        "Of each digit you drew more than once, every fourth example from the second on is held "
        "out of fine-tuning, to measure how well the network reads your writing."
    )
    for start in range(0, len(digits), COLUMNS):
        for column, digit in zip(st.columns(COLUMNS), digits[start : start + COLUMNS]):
            column.image(enlarge(digit.image, 3), caption=f"a {digit.label}")
            column.button(
                "Delete",
                key=f"delete_{digit.id}",
                icon=":material/delete:",
                on_click=UserDigits().delete,
                args=(digit.id,),
            )

st.subheader("Fine-tune the active model")
active = session.active_model()
if active is None:
    st.info("There is no model to fine-tune yet: train one on the Train page.", icon=":material/info:")
    st.stop()
with st.expander("Fine-tuning settings"):
    defaults = FineTuneSettings()
    epochs = st.slider("Epochs", 1, 10, defaults.training.epochs)
    mnist_size = st.select_slider(
        "MNIST images mixed in",
        [1_000, 2_000, 5_000, 10_000, 20_000, 60_000],
        defaults.mix.mnist_size,
        help="rehearsing MNIST is what keeps the network from forgetting it",
    )
tuner = session.finetuner()
running = tuner is not None and tuner.running
drawn_every = progress_every(tuner)
blocked = session.job_runner_problem()
left, right, _ = st.columns([2, 1, 3])
if left.button(
    "Fine-tune on my digits",
    type="primary",
    icon=":material/school:",
    disabled=not digits or running or blocked is not None,
    help="takes a minute or two; it goes on if you visit other pages meanwhile",
    width="stretch",
):
    settings = FineTuneSettings(
        replace(defaults.training, epochs=epochs), replace(defaults.mix, mnist_size=mnist_size)
    )
    session.start_finetune(active.path, settings)
    st.rerun()  # redraw the buttons and the progress for the fine-tune that has just started
with right:
    stop_button(tuner, help="end after the current batch; what was learned so far is still saved as a run")
if blocked:
    st.error(blocked, icon=":material/error:")


@st.fragment(run_every=drawn_every)
def finetune_progress() -> None:
    """Redrawn every second while fine-tuning, then once more with the outcome."""
    current = session.finetuner()
    if current is None:
        return
    progress = current.progress()
    if started_since_drawn(drawn_every, progress):
        st.rerun()  # the whole page: the fragment at a running job's pace
    if progress.state is JobState.WAITING:
        waiting_note(progress)
        return
    if progress.running:
        epochs = progress.task.settings.training.epochs
        text = f"epoch {min(len(progress.epochs) + 1, epochs)} of {epochs}"
        st.progress(
            fraction_done(progress, epochs), text=text + (" · stopping…" if progress.stopping else "")
        )
        return
    if running:
        st.rerun()  # the whole page: its buttons were drawn while the fine-tune still ran
    if progress.error:
        st.error(progress.error, icon=":material/error:")
    elif progress.finetune is not None and progress.end is not None and progress.saved is not None:
        teach.show_outcome(progress.finetune, progress.end, progress.saved)


finetune_progress()
