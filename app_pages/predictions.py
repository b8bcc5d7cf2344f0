"""Predictions page: how the active model does on the 10,000 test images, and where it fails."""

import numpy as np
import streamlit as st

from ui import browser, cache, charts, predictions, session
from ui.pixels import enlarge

st.title("Predictions on the test set")
active = session.require_active_model("to evaluate")

st.caption(
    "The 10,000 test images are handwritten digits the network never saw while training, "
    "so how it does on them is how it would do on new handwriting."
)
test = cache.test_predictions(active.path)
images = cache.mnist().test_images
per_class = test.per_class_accuracy
hardest = int(np.nanargmin(per_class))

cols = st.columns(3)
cols[0].metric("Test accuracy", f"{test.accuracy:.2%}")
cols[1].metric("Mistakes", f"{int(np.sum(test.predicted != test.labels)):,} of {len(test.labels):,}")
cols[2].metric(
    "Hardest digit", str(hardest), f"{per_class[hardest]:.1%} correct", delta_color="off", delta_arrow="off"
)

matrix_column, class_column = st.columns([1, 1])
with matrix_column:
    st.subheader("Confusion matrix")
    st.plotly_chart(
        charts.confusion_chart(test.confusion, browser.selected_cell()),
        width="content",
        key=browser.CONFUSION,
        on_select=browser.choose_cell,
        selection_mode="points",
    )
    st.caption(
        "Each row is a true digit, each column the network's answer. The diagonal counts the "
        "correct answers; every other square is one kind of mistake. **Click a square** to browse "
        "those images below."
    )
with class_column:
    st.subheader("Accuracy per digit")
    st.plotly_chart(charts.per_class_chart(per_class), width="stretch")
    st.caption("The share of each digit's test images the network reads correctly.")

st.subheader("Browse the test images")
digits = [None, *range(10)]
show_any = {"format_func": lambda d: "any" if d is None else str(d), "on_change": browser.restart}
filters = st.columns([2, 1, 1, 2, 1], vertical_alignment="bottom")
st.session_state.setdefault(browser.SHOW, browser.MISTAKES)  # not default=: a matrix click sets it too
filters[0].segmented_control(
    "Show", [browser.MISTAKES, browser.ALL], required=True, key=browser.SHOW, on_change=browser.restart
)
filters[1].selectbox("True digit", digits, key=browser.TRUE, **show_any)
filters[2].selectbox("Predicted digit", digits, key=browser.PREDICTED, **show_any)
filters[3].selectbox(
    "Sort by confidence", list(predictions.SORTS), key=browser.SORT, on_change=browser.restart
)
filters[4].button("Clear filters", on_click=browser.clear_filters, width="stretch")

chosen = browser.filtered(test)
n_pages = predictions.page_count(len(chosen), browser.PER_PAGE)
st.caption(
    f"{len(chosen):,} images match. Confidence is the probability the network gave its own "
    "answer: a confident mistake is one it was sure of and got wrong."
)

grid_column, detail_column = st.columns([3, 1])
with grid_column:
    if not len(chosen):
        st.info("No test image matches these filters.", icon=":material/filter_alt_off:")
    browser.keep_page_in_range(n_pages)
    page_number = st.pagination(n_pages, key=browser.PAGE)
    with st.grid(6, min_column_width=96, border=True):
        for index in predictions.page(chosen, page_number, browser.PER_PAGE):
            label, answer = int(test.labels[index]), int(test.predicted[index])
            said = f"**{answer}**" if label == answer else f":red[**{answer}**]"
            with st.container(key=f"tile_{index}"):
                st.image(enlarge(images[index], 3), width="stretch")
                st.markdown(f"{label} → {said}  \n{test.confidence[index]:.0%} sure")
                st.button("Inspect", key=f"inspect_{index}", on_click=browser.inspect, args=(int(index),))

with detail_column:
    index = browser.inspected(chosen)
    if index is not None:
        label = int(test.labels[index])
        st.subheader(f"Test image #{index}")
        st.image(enlarge(images[index], 6), width="stretch")
        st.markdown(f"True digit **{label}**, the network says **{int(test.predicted[index])}**.")
        st.plotly_chart(charts.probability_chart(test.probs[index], label), width="stretch")
        st.caption("The network's probability for each digit (its softmax output); they add up to 100 %.")
