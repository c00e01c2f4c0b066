"""Complete page."""

from __future__ import annotations

import streamlit as st

from app import common

ws = common.workspace()
st.title("Complete")
common.start_here("model", ws)
