"""Human labels as the pages give them: written at once (`curation.catalog.set_label(s)`, an
indexed update), the filter's retraining left to the background rescorer, and an undo stack in
the session shared by the pages (the Label page's Undo also undoes a label given in Browse)."""

from __future__ import annotations

import streamlit as st

from curation.catalog import label_of, set_label, set_labels


def _stack() -> list:
    return st.session_state.setdefault("undo", [])


def can_undo() -> bool:
    return bool(_stack())


def apply(ds, rescorer, rows: list[tuple[str, str, str]]) -> None:
    """Write labels (sha256, label, reason), remember the previous ones, rescore later."""
    _stack().append([(sha, *label_of(ds, sha)) for sha, _, _ in rows])
    if len(rows) == 1:
        set_label(ds, *rows[0])
    else:
        set_labels(ds, rows)
    rescorer.request()
    sha, label, reason = rows[0]
    st.session_state.last_action = f"{label} × {len(rows)}" if len(rows) > 1 else \
        f"{label} {sha[:10]}" + (f" ({reason})" if reason else "")


def undo(ds, rescorer) -> None:
    """Put back the labels the last action replaced."""
    previous = _stack().pop()
    for sha, label, reason in previous:
        set_label(ds, sha, label, reason)
    rescorer.request()
    st.session_state.last_action = f"undid the last action ({len(previous)} crop(s))"
