"""Your handwriting: the digits you labelled on the Draw page, and fine-tuning the model on them."""

import streamlit as st

from nn.finetune import FineTuneSettings
from nn.user_digits import UserDigits, UserDigitsError
from ui import cache, runs, session, teach
from ui.pixels import enlarge

OUTCOME = "finetune_outcome"  # (FineTuneResult, Run) of this session's last fine-tune
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
    epochs = st.slider("Epochs", 1, 10, defaults.epochs)
    mnist_size = st.select_slider(
        "MNIST images mixed in",
        [1_000, 2_000, 5_000, 10_000, 20_000, 60_000],
        defaults.mnist_size,
        help="rehearsing MNIST is what keeps the network from forgetting it",
    )
if st.button(
    "Fine-tune on my digits",
    type="primary",
    icon=":material/school:",
    disabled=not digits,
    help="takes a minute or two; stay on this page until it is done, leaving it abandons the run",
):
    progress = st.progress(0.0, text="preparing your digits…")
    settings = FineTuneSettings(epochs=epochs, mnist_size=mnist_size)
    st.session_state[OUTCOME] = teach.finetune(
        cache.model(active.path), settings, active.path, lambda done, text: progress.progress(done, text)
    )
    progress.empty()

outcome = st.session_state.get(OUTCOME)
if outcome is not None:
    result, run = outcome
    for column, (label, value, change) in zip(st.columns(2), teach.outcome_lines(result)):
        column.metric(label, value, change)
    st.caption(teach.describe_outcome(result, run))
    if not result.kept_mnist:
        st.warning(
            "MNIST accuracy fell by more than 0.3 points: try fewer epochs or more MNIST images.",
            icon=":material/warning:",
        )
    st.button(
        "Use the fine-tuned model", icon=":material/check_circle:", on_click=runs.make_active, args=(run,)
    )
    kind, message = st.session_state.pop(runs.NOTICE, (None, None))
    if kind:
        (st.success if kind == "success" else st.error)(message)
