"""The Overview's pollution rules per source: what each rule fired on and rejected, a few of its
crops, and the switch that turns it off for a source whose style it misreads."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app import catalog_view
from studio.workspace import Workspace

SHOWN = 8  # rules per source listed, the most suspicious first


@st.cache_data(show_spinner=False, max_entries=4)
def _uses(root: str, version: str) -> list:
    """The rules' use per source; `version` (when the scores and the switches last changed) is
    only the cache key."""
    from curation.rules import rule_uses

    return rule_uses(catalog_view._dataset(root))


def rules_section(ws: Workspace) -> None:
    if not catalog_view.has_catalog(ws):
        return
    from curation.catalog import CatalogInfo

    ds = catalog_view.dataset(ws)
    info = CatalogInfo.load(ds)
    uses = [u for u in _uses(str(ws.root), str(info.scored_at) + str(info.rules_off))
            if u.stat.suspect or u.stat.off or u.rejected]
    st.subheader("Pollution rules per source")
    if not uses:
        st.caption("No rule rejected a crop or fires suspiciously often on any source.")
        return
    st.caption("A rule is evidence, not a verdict: where it fires on a large share of a source it "
               "is weighed down there. Look at its crops; if they are what you want, switch it off "
               "for that source.")
    for k, use in enumerate(uses[:SHOWN]):
        s = use.stat
        with st.container(border=True):
            st.markdown(("⚠️ " if s.suspect and not s.off else "") + use.line)
            examples = [p for p in use.examples if Path(p).is_file()]  # deleted by hand: skipped
            if examples:
                st.image(examples, width=72)
            label = (f"Switch {s.rule} back on for {s.domain}" if s.off
                     else f"Switch {s.rule} off for {s.domain}")
            if st.button(label, key=f"rule-{k}-{s.rule}-{s.domain}"):
                switch(ws, ds, s.rule, s.domain, on=s.off)


def switch(ws: Workspace, ds, rule: str, domain: str, on: bool) -> None:
    from curation.rules import set_rule

    set_rule(ds, rule, domain, on=on)
    catalog_view.rescorer(ws).request()
    st.toast(f"{rule} {'on' if on else 'off'} for {domain}: rescoring the catalog")
    st.rerun()
