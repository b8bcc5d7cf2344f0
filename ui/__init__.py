"""What the app's pages share: the session and its jobs, cached loaders, the sidebar, figures.

Pages (`app_pages/`) stay thin by calling these; these call the services and the engine and do no
maths of their own. May import: the services, the engine, Streamlit, plotly, pandas, Pillow.
"""
