"""Duplicates: near-duplicate groups side by side, the kept crop marked; choose which is kept."""

from __future__ import annotations

import math

import streamlit as st

from app import catalog_view, common
from curation.catalog import duplicate_groups, set_kept

PER_PAGE = 10


def render() -> None:
    ws = common.workspace()
    st.title("Duplicates")
    ds = catalog_view.dataset_or_start_here(ws)
    groups = duplicate_groups(ds)
    if not groups:
        st.success("No near-duplicates in the catalog.")
        return
    pages = math.ceil(len(groups) / PER_PAGE)
    page = st.number_input("Page", 1, pages, 1, help=f"{len(groups)} groups, {PER_PAGE} a page") - 1
    for gid in sorted(groups)[page * PER_PAGE:(page + 1) * PER_PAGE]:
        group(ds, gid, groups[gid])


def group(ds, gid: str, members: list[dict]) -> None:
    """One group's crops in a row: the kept one marked, a button to keep any other."""
    with st.container(border=True):
        st.markdown(f"Group `{gid}` · {len(members)} crops")
        for col, m in zip(st.columns(max(len(members), 4)), members, strict=False):
            col.image(m["filepath"], width=128)
            if m["dup_kept"]:
                col.markdown(":green[**kept**]")
            elif col.button("Keep this", key=f"keep-{gid}-{m['sha256']}"):
                set_kept(ds, gid, m["sha256"])
                st.rerun()
            col.caption(f"{m['face_px'] or '?'} px · q {m['quality'] or 0:.2f} · {m['decision']}")


render()
