"""Draw page: draw a digit with the mouse and watch the network read it as you draw."""

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
if guess is None:
    seen_column.info(
        "Draw a digit in the black square: the network's guess appears here.", icon=":material/draw:"
    )
else:
    with seen_column:
        st.image(enlarge(guess.seen, 6), caption="What the network sees: 28×28 pixels")
    with answer_column:
        verdict = st.empty()  # filled once the threshold below is known
        st.plotly_chart(charts.probability_chart(guess.probs), width="stretch")
        st.caption("One bar per digit: the network's probability that your drawing is that digit.")
        sure = guess.confidence >= not_sure_threshold("not_sure_draw")
        verdict.metric(
            "Prediction",
            str(guess.digit) if sure else "not sure",
            f"{guess.confidence:.0%} confident"
            if sure
            else f"would have said {guess.digit} ({guess.confidence:.0%})",
            delta_color="off",
            delta_arrow="off",
        )
        add_to_my_digits(guess.seen, guess.digit)
