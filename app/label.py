"""Label page."""

from __future__ import annotations

import streamlit as st

from app import common

ws = common.workspace()
st.title("Label")
common.start_here("curate", ws)
