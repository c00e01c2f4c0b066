"""Entry script of the app (`studio app` runs it): page navigation and the error guard."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

try:
    from app import common
except ModuleNotFoundError:  # a checkout not installed (`make` runs `pip install -e .`): `streamlit
    # run` puts app/ on sys.path, not the repository root that holds the packages.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from app import common

st.set_page_config(page_title="GAN Studio", page_icon=":material/face:", layout="wide")

HERE = Path(__file__).parent
PAGES = {
    "Data": [
        st.Page(HERE / "overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page(HERE / "browse.py", title="Browse", icon=":material/grid_view:"),
        st.Page(HERE / "label.py", title="Label", icon=":material/check_circle:"),
        st.Page(HERE / "duplicates.py", title="Duplicates", icon=":material/content_copy:"),
    ],
    "Model": [
        st.Page(HERE / "train.py", title="Train", icon=":material/model_training:"),
        st.Page(HERE / "generate.py", title="Generate", icon=":material/auto_awesome:"),
        st.Page(HERE / "complete.py", title="Complete", icon=":material/healing:"),
        st.Page(HERE / "project.py", title="Project", icon=":material/center_focus_strong:"),
    ],
}

page = st.navigation(PAGES)
ws = common.workspace()
st.sidebar.caption(f"Workspace `{ws.root}`")
if not ws.exists():
    common.no_workspace(ws)
else:
    # A page's unexpected error becomes one line in the page (the traceback goes to the server
    # log); Streamlit's own rerun/stop signals are BaseExceptions and pass through.
    try:
        page.run()
    except Exception as exc:
        common.show_error(exc)
