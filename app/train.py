"""Train page."""

from __future__ import annotations

import streamlit as st

from app import common

ws = common.workspace()
st.title("Train")
common.start_here("train", ws)
