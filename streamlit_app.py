"""Digit Lab's server: `streamlit run streamlit_app.py` (or `bash scripts/app.sh`).

The pages are the Streamlit script `app_navigation.py`; this file serves it with one route of our
own beside Streamlit's: the progress of a training run, which the Train page's browser reads once
a second instead of rerunning the page (`ui.live`).
"""

import streamlit as st

from ui import live

app = st.App("app_navigation.py", routes=live.routes())
