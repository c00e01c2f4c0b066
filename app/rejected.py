"""Rejected: the crops the rules and the filter rejected, grouped by the rule or reason that
rejected each (its first reason), largest group first — to rescue a rule's victims in bulk.

Tick crops (or a whole group), then Accept or Reject them (keys A and X; U undoes). A click
writes human labels at once (`curation.catalog.set_labels`, one bulk write) and leaves the
filter's retraining to the background rescorer, as the Label page does: an accepted crop leaves
the page at once, and the accepts teach the filter to spare that rule's other victims.
"""

from __future__ import annotations

import math

import streamlit as st

from app import catalog_view, common
from curation.catalog import human_labels, rejected_crops, rejection_groups, set_label, set_labels
from curation.rescoring import scoring_state

COLS = 6
POLLUTED = "polluted:"
# What each reason means, for the group's caption (reasons not listed are shown as they are).
MEANING = {
    "polluted": "the pollution score is over the threshold",
    "photo": "looks like a photograph, not a drawing",
    "cat": "both cat-face detectors fired",
    "human_face": "the photographic human-face detector fired",
    "disagree": "a second face detector sees no face there",
    "filter": "the filter learned from your labels scores it as pollution",
    "atypical": "unlike most crops of this workspace",
    "blurred": "a blurred face",
    "occluded": "something covers the face (a mask, a hand)",
    "blurry": "quality: too blurry",
    "too_dark": "quality: too dark",
    "too_bright": "quality: too bright",
    "low_contrast": "quality: too little contrast",
    "low_entropy": "quality: flat, too little detail",
    "grayscale": "quality: no colour",
    "like_rejected": "a near copy of a crop you rejected",
    "": "no reason was recorded",
}


def title_of(reason: str) -> str:
    """A group's name: a pollution rule by its own name ("polluted:photo" → "photo")."""
    if reason.startswith(POLLUTED):
        return reason.removeprefix(POLLUTED)
    if reason.startswith("human:"):
        return f"you rejected: {reason.removeprefix('human:')}"
    return reason or "no reason"


def reject_reason(reason: str) -> str:
    """The reason a human reject confirming this group records (the rule's name)."""
    return (reason.removeprefix(POLLUTED).removeprefix("human:") or "reject")[:80]


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def selected() -> dict[str, str]:
    """The ticked crops, sha256 → the group (first reason) each was ticked in."""
    return st.session_state.setdefault("rj_selected", {})


def generation() -> int:
    """Part of every tick box's key: bumped when the selection changes other than by a tick
    (select all, clear, a bulk action), so the boxes are drawn again from `selected()`."""
    return st.session_state.setdefault("rj_gen", 0)


def _redraw() -> None:
    st.session_state.rj_gen = generation() + 1


def _tick(sha: str, reason: str, key: str, gen: int) -> None:
    if gen != generation():  # a box of an earlier drawing, its state sent again by the browser
        return
    if st.session_state.get(key):
        selected()[sha] = reason
    else:
        selected().pop(sha, None)


def render() -> None:
    ws = common.workspace()
    st.title("Rejected")
    ds = catalog_view.dataset_or_start_here(ws)
    rescorer = catalog_view.rescorer(ws)
    undo_stack = st.session_state.setdefault("rj_undo", [])

    c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
    domain = c1.selectbox("Source domain", ["all", *catalog_view.domains(ds)], key="rj-domain")
    domain = None if domain == "all" else domain
    labelled = c2.toggle("Include crops a human rejected", key="rj-labelled",
                         help="Off: only the rules' and the filter's rejections, the ones to rescue.")
    size = c3.selectbox("Per page", [24, 48, 96, 8], key="rj-size")

    groups = rejection_groups(ds, labelled=labelled, domain=domain)
    total = sum(n for _, n in groups)

    def apply(label: str) -> None:
        picked = dict(selected())
        previous = {sha: (lab, reason) for sha, lab, reason in human_labels(ds) if sha in picked}
        undo_stack.append([(sha, *previous.get(sha, (None, ""))) for sha in picked])
        set_labels(ds, [(sha, label, "" if label == "accept" else reject_reason(reason))
                        for sha, reason in picked.items()])
        rescorer.request()
        by_group = ", ".join(f"{title_of(r)} × {n}" for r, n in
                             sorted(_count(picked.values()).items(), key=lambda kv: -kv[1]))
        st.session_state.rj_last = (f"{'Accepted' if label == 'accept' else 'Rejected'} "
                                    f"{len(picked)} crop(s) ({by_group}).")
        selected().clear()
        _redraw()

    def undo() -> None:
        previous = undo_stack.pop()
        cleared = [sha for sha, label, _ in previous if label is None]
        for sha in cleared:
            set_label(ds, sha, None)
        rows = [(sha, label, reason) for sha, label, reason in previous if label is not None]
        if rows:
            set_labels(ds, rows)
        rescorer.request()
        st.session_state.rj_last = (f"Undid the last action ({len(previous)} crop(s)); they are "
                                    "filed again once the background rescore has run.")

    action_bar(apply, undo, bool(undo_stack))
    relearned = relearning(rescorer, ds, (labelled, domain, total))
    if relearned:
        st.session_state.rj_last = f"{st.session_state.get('rj_last') or ''} {relearned}".strip()
    if st.session_state.get("rj_last"):
        st.caption(st.session_state.rj_last)

    if not groups:
        st.success("No crop is rejected" + (f" from {domain}." if domain else ".")
                   + " Every crop is accepted or a duplicate.")
        return
    st.caption(f"{plural(total, 'rejected crop')} in {plural(len(groups), 'group')}, by the rule or reason that "
               "rejected each (its first reason), largest group first. Tick crops, or *Select all* "
               "of a group, then accept or reject them in the sidebar.")
    for reason, n in groups:
        group(ds, reason, n, size, labelled, domain)


def relearning(rescorer, ds, now: tuple) -> str:
    """While the filter relearns from the labels in the background, say so and watch it; once
    it has, what that did to this page's count (the crops it rescued, or newly rejects).
    `now`: the page's (labelled, domain, rejected crops)."""
    state = scoring_state(ds, rescorer)
    if state.running:
        st.session_state.setdefault("rj_baseline", now)  # after the labels, before the relearning
        st.info(f"The filter is relearning from your last {state.labels_since} label(s) in the "
                "background; the crops it now accepts will leave this page.",
                icon=":material/schedule:")
        watch_rescore(rescorer)
        return ""
    base = st.session_state.pop("rj_baseline", None)
    if base is None or base[:2] != now[:2] or base[2] == now[2]:
        return ""
    moved = base[2] - now[2]
    return ("The filter relearned from your labels: " +
            (f"{moved} more crop(s) are no longer rejected." if moved > 0 else
             f"{-moved} more crop(s) are rejected now."))


@st.fragment(run_every=2)
def watch_rescore(rescorer) -> None:
    """Reload the page once the background rescore has finished (it shows the new filing)."""
    if not rescorer.busy:
        st.rerun(scope="app")


def _count(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def action_bar(apply, undo, can_undo: bool) -> None:
    """The selection's actions, in the sidebar so they stay in view while scrolling the grid."""
    n = len(selected())
    bar = st.sidebar.container(border=True)
    bar.markdown(f"**{n} selected**")
    if bar.button(f"Accept {n}", type="primary", icon=":material/check:", disabled=not n,
                  shortcut="A", key="rj-accept", width="stretch"):
        apply("accept")
        st.rerun()
    if bar.button(f"Reject {n}", icon=":material/close:", disabled=not n, shortcut="X",
                  key="rj-reject", width="stretch",
                  help="Confirms the rejection: a human label with the rule's name as the reason."):
        apply("reject")
        st.rerun()
    if bar.button("Clear selection", disabled=not n, key="rj-clear", width="stretch"):
        selected().clear()
        _redraw()
        st.rerun()
    if bar.button("Undo", icon=":material/undo:", disabled=not can_undo, shortcut="U",
                  key="rj-undo", width="stretch"):
        undo()
        st.rerun()
    bar.caption("Keys: A accept · X reject · U undo")


def group(ds, reason: str, n: int, size: int, labelled: bool, domain: str | None) -> None:
    """One group: its header, select all, a page of tiles with a tick box each."""
    with st.container(border=True, key=f"rj-group-{reason or 'none'}"):
        head, sel, pager = st.columns([5, 2, 2], vertical_alignment="bottom")
        head.subheader(f"{title_of(reason)} — {plural(n, 'crop')}", anchor=False)
        meaning = MEANING.get(reason.removeprefix(POLLUTED))
        if meaning:
            head.caption(meaning)
        view = rejected_crops(ds, reason, labelled=labelled, domain=domain)
        picked = selected()
        in_group = sum(1 for r in picked.values() if r == reason)
        if in_group >= n:
            if sel.button("Unselect all", key=f"rj-none-{reason}", width="stretch"):
                for sha in [s for s, r in picked.items() if r == reason]:
                    picked.pop(sha)
                _redraw()
                st.rerun()
        elif sel.button(f"Select all {n}", key=f"rj-all-{reason}", width="stretch"):
            picked.update(dict.fromkeys(view.values("sha256"), reason))
            _redraw()
            st.rerun()
        pages = max(1, math.ceil(n / size))
        page = 0
        if pages > 1:
            page = pager.number_input(f"Page (of {pages})", 1, pages, 1, key=f"rj-page-{reason}") - 1
        rows = catalog_view.page_of(view, page, size, [*catalog_view.GRID_FIELDS, "reasons"])
        gen = generation()
        for start in range(0, len(rows), COLS):
            for col, row in zip(st.columns(COLS), rows[start:start + COLS], strict=False):
                tile(col, row, reason, gen)


def tile(col, row: dict, reason: str, gen: int) -> None:
    """A crop, its tick box (labelled with its pollution and quality scores) and its other
    reasons, if any."""
    sha = row["sha256"]
    col.image(row["filepath"], width="stretch")
    key = f"rj-{gen}-{sha}"
    col.checkbox(f"p {row['pollution'] or 0:.2f} · q {row['quality'] or 0:.1f}",
                 value=sha in selected(), key=key, on_change=_tick, args=(sha, reason, key, gen))
    more = [title_of(r) for r in (row.get("reasons") or [])[1:]]
    if more:
        col.caption(f"also {', '.join(more)}")


render()
