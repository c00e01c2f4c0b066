"""Entry script of the app (`studio app` runs it): page navigation and the error guard."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = str(Path(__file__).resolve().parents[1])  # the checkout that holds this file


def prefer_this_checkout() -> None:
    """Put this checkout first on sys.path. `streamlit run` puts app/ there, not the repository
    root that holds the packages; and another checkout installed editable (or on PYTHONPATH)
    would otherwise serve its own pages' code under this file's navigation, silently."""
    if sys.path[:1] != [ROOT]:
        while ROOT in sys.path:
            sys.path.remove(ROOT)
        sys.path.insert(0, ROOT)


def run() -> None:
    """The app: this checkout first on the path, then the pages under one navigation."""
    prefer_this_checkout()
    from app import common  # only now: this checkout's `app`, not one earlier on the path

    st.set_page_config(page_title="GAN Studio", page_icon=":material/face:", layout="wide")

    here = Path(__file__).parent
    pages = {
        "Data": [
            st.Page(here / "overview.py", title="Overview", icon=":material/dashboard:", default=True),
            st.Page(here / "browse.py", title="Browse", icon=":material/grid_view:"),
            st.Page(here / "label.py", title="Label", icon=":material/check_circle:"),
            st.Page(here / "rejected.py", title="Rejected", icon=":material/block:"),
            st.Page(here / "duplicates.py", title="Duplicates", icon=":material/content_copy:"),
        ],
        "Model": [
            st.Page(here / "train.py", title="Train", icon=":material/model_training:"),
            st.Page(here / "generate.py", title="Generate", icon=":material/auto_awesome:"),
            st.Page(here / "complete.py", title="Complete", icon=":material/healing:"),
            st.Page(here / "project.py", title="Project", icon=":material/center_focus_strong:"),
        ],
    }

    page = st.navigation(pages)
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


if __name__ == "__main__":  # how `streamlit run` and AppTest run an entry script
    run()
