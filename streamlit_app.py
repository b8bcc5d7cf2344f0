"""Digit Lab: watch a neural network learn to read handwritten digits.

Run with `streamlit run streamlit_app.py`. This file only sets up what every page shares (the
navigation and the active-model picker in the sidebar); each page lives in `pages/`.
"""

import streamlit as st

from ui import session

st.set_page_config(page_title="Digit Lab", page_icon=":material/draw:", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/train.py", title="Train", icon=":material/model_training:", default=True),
        st.Page("pages/predictions.py", title="Predictions", icon=":material/grid_view:"),
        st.Page("pages/draw.py", title="Draw", icon=":material/draw:"),
    ]
)
session.model_picker()
navigation.run()
