"""Draw page: draw a digit with the mouse and watch the network read it as you draw."""

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from ui import cache, charts, session
from ui.drawing import classify_drawing
from ui.inside import DRAWN_DIGIT
from ui.pixels import enlarge
from ui.robustness import not_sure_threshold
from ui.teach import add_to_my_digits

CANVAS = "canvas_clears"  # bumping this gives the canvas a new key, which empties it


def clear_canvas() -> None:
    st.session_state[CANVAS] = st.session_state.get(CANVAS, 0) + 1


st.title("Draw a digit")
active = session.require_active_model("to read your digit")

st.caption(
    "Draw one digit, 0 to 9, large and centred. Before the network sees it, your drawing is "
    "prepared the way MNIST's digits were: cropped, scaled into a 20×20 box and centred by its "
    "centre of mass in a 28×28 image."
)
st.space("small")  # room for the canvas toolbar, which appears above it on hover
canvas_column, seen_column, answer_column = st.columns([3, 2, 3])
with canvas_column:
    drawing = st_canvas(
        stroke_width=18,
        stroke_color="#ffffff",
        background_color="#000000",
        width=280,
        height=280,
        drawing_mode="freedraw",
        update_streamlit=True,
        return_image_data=True,
        key=f"canvas_{st.session_state.get(CANVAS, 0)}",
    )
    st.button("Clear", icon=":material/ink_eraser:", on_click=clear_canvas)

guess = classify_drawing(cache.model(active.path), drawing.image_data)
st.session_state[DRAWN_DIGIT] = None if guess is None else guess.seen  # for the Inside page
with seen_column:
    if guess is None:
        st.info("Draw a digit in the black square: the network's guess appears here.", icon=":material/draw:")
    elif cache.model(active.path).deskews:
        st.image(enlarge(guess.seen, 4), caption="Your digit, 28×28 pixels")
        st.image(enlarge(guess.read, 4), caption="Deskewed: what this network reads")
    else:
        st.image(enlarge(guess.seen, 6), caption="What the network sees: 28×28 pixels")
# The answer column is drawn before there is a drawing, with empty bars: the browser then loads
# the chart's code (plotly, 4.7 MB) with the page, not after the first stroke, when it made the
# first answer take 2 s instead of half a second. The answer is sent before the bars, which the
# browser takes longer to redraw: the slider it depends on is drawn first, into its place below.
with answer_column:
    verdict, bars, below = st.empty(), st.container(), st.container()
    with below:
        threshold = not_sure_threshold("not_sure_draw")
    if guess is None:
        verdict.metric("Prediction", "–", "nothing drawn yet", delta_color="off", delta_arrow="off")
    else:
        sure = guess.confidence >= threshold
        verdict.metric(
            "Prediction",
            str(guess.digit) if sure else "not sure",
            f"{guess.confidence:.0%} confident"
            if sure
            else f"would have said {guess.digit} ({guess.confidence:.0%})",
            delta_color="off",
            delta_arrow="off",
        )
    probabilities = np.zeros(len(charts.DIGITS)) if guess is None else guess.probs
    bars.plotly_chart(charts.probability_chart(probabilities), width="stretch")
    bars.caption("One bar per digit: the network's probability that your drawing is that digit.")
    if guess is not None:
        add_to_my_digits(guess.seen, guess.digit)
