"""Digit Lab: watch a neural network learn to read handwritten digits.

The app's main script, served by `streamlit_app.py` (run `streamlit run streamlit_app.py`). It
only sets up what every page shares (the navigation and the active-model picker in the sidebar);
each page lives in `app_pages/`.
The folder is not called `pages/` on purpose: Streamlit still treats a `pages/` folder as an
old-style multipage app until `st.navigation` first runs, so on a fresh server a deep link such
as /predictions would run that page alone, without this file's sidebar.
"""

import streamlit as st

from ui import cache, session

st.set_page_config(page_title="Digit Lab", page_icon=":material/draw:", layout="wide")

navigation = st.navigation(
    [
        st.Page("app_pages/train.py", title="Train", icon=":material/model_training:", default=True),
        st.Page("app_pages/predictions.py", title="Predictions", icon=":material/grid_view:"),
        st.Page("app_pages/draw.py", title="Draw", icon=":material/draw:"),
        st.Page("app_pages/inside.py", title="Inside the network", icon=":material/neurology:"),
        st.Page("app_pages/step_by_step.py", title="Step by step", icon=":material/calculate:"),
        st.Page("app_pages/robustness.py", title="Robustness", icon=":material/shield:"),
        st.Page("app_pages/runs.py", title="Compare runs", icon=":material/compare_arrows:"),
        st.Page("app_pages/sweeps.py", title="Sweeps", icon=":material/grid_on:"),
        st.Page("app_pages/my_digits.py", title="Your handwriting", icon=":material/school:"),
    ]
)
with cache.pages_served().serving():  # the workers leave a core to the server and the browser
    session.model_picker()
    navigation.run()
