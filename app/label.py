"""Label: the review queue (unsure and varied first), accept / reject with a reason, bulk, undo.

A click writes its label at once (`curation.catalog.set_label`, one indexed update); the filter
retrains and rescores every crop in the background once labelling pauses, and the page says
when the scores shown are from before the latest labels. The undo stack in the session
remembers each crop's previous label.
"""

from __future__ import annotations

import streamlit as st

from app import catalog_view, common, labelling
from curation.catalog import CropFilters, filter_crops, review_queue
from curation.rescoring import scoring_state


def render() -> None:
    ws = common.workspace()
    st.title("Label")
    ds = catalog_view.dataset_or_start_here(ws)
    rescorer = catalog_view.rescorer(ws)

    def apply(rows: list[tuple[str, str, str]]) -> None:
        labelling.apply(ds, rescorer, rows)

    progress_header(ds, rescorer)
    top = st.columns([1, 3], vertical_alignment="center")
    if top[0].button("Undo", icon=":material/undo:", disabled=not labelling.can_undo(), shortcut="U"):
        labelling.undo(ds, rescorer)
        st.rerun()
    if st.session_state.get("last_action"):
        top[1].caption(f"Last: {st.session_state.last_action}")
    one, bulk = st.tabs(["Review queue", "Bulk"])
    with one:
        review_one(ds, apply)
    with bulk:
        review_bulk(ds, apply)


def progress_header(ds, rescorer) -> None:
    stats = catalog_view.progress(ds)
    c1, c2, c3 = st.columns(3)
    c1.metric("Labelled", stats["labelled"])
    c2.metric("Still in the queue", stats["unlabelled"])
    if stats["accuracy"] is None:
        c3.metric("Pollution filter", "rules only", help=stats["text"])
    else:
        c3.metric("Pollution filter accuracy", f"{stats['accuracy']:.0%}", **accuracy_badge(stats),
                  help=stats["text"])
        st.caption(stats["text"])
    st.progress(stats["labelled"] / max(1, len(ds)),
                text=f"{stats['labelled']} of {len(ds)} crops labelled")
    state = scoring_state(ds, rescorer)
    if state.error:
        st.warning(f"The last background rescore failed: {state.error}. Your labels are saved; "
                   "`studio curate` rescores too.", icon=":material/warning:")
    elif state.stale:
        st.info(f"Scores are from the filter before your last {state.labels_since} label(s)"
                + ("; rescoring in the background…" if state.running else "."),
                icon=":material/schedule:")


def accuracy_badge(stats: dict) -> dict:
    """The metric's delta, agreeing with the text: accuracy minus chance in points, green and up
    only when the filter beats chance, red and down when it does worse, grey and arrowless while
    the two cannot be told apart."""
    points = round((stats["accuracy"] - stats["chance"]) * 100)
    if stats["beats_chance"]:
        verdict, color, arrow = "above chance", "normal", "up"
    elif stats.get("below_chance"):
        verdict, color, arrow = "below chance", "normal", "down"
    else:
        verdict, color, arrow = "not distinguishable from chance", "off", "off"
    return {"delta": f"{points:+d} pts vs chance {stats['chance']:.0%}: {verdict}",
            "delta_color": color, "delta_arrow": arrow}


def review_one(ds, apply) -> None:
    fields = [*catalog_view.GRID_FIELDS, "certainty"]
    skipped = st.session_state.setdefault("skipped", [])
    del skipped[:-50]  # the latest 50 skips are remembered
    queue = catalog_view.rows_of(review_queue(ds, 9 + len(skipped)), fields)
    if not queue:
        st.success("The queue is empty: every crop has a human label.")
        return
    later = {sha: k for k, sha in enumerate(skipped)}
    # Skipped crops go last, in the order they were skipped; the rest keep the queue's order.
    queue = sorted(queue, key=lambda r: (r["sha256"] in later, later.get(r["sha256"], 0)))[:9]
    crop = queue[0]
    left, right = st.columns([2, 3])
    left.image(crop["filepath"], width=320)
    with right:
        st.markdown(f"**{crop['domain']}** · pollution {crop['pollution'] or 0:.2f} · "
                    f"quality {crop['quality'] or 0:.2f} · filter says **{crop['decision']}**")
        st.caption("Keys: A accept · 1–4 reject with a reason · S skip · U undo")
        c1, c2 = st.columns(2)
        if c1.button("Accept", type="primary", icon=":material/check:", shortcut="A", key="accept",
                     width="stretch"):
            apply([(crop["sha256"], "accept", "")])
            st.rerun()
        if c2.button("Skip", icon=":material/skip_next:", shortcut="S", key="skip", width="stretch",
                     help="Decide later: the next crop, this one goes to the end of the queue "
                          "for this session."):
            skipped.append(crop["sha256"])
            st.rerun()
        st.markdown("**Reject because:**")
        # Two buttons a row: each label whole ("not-a-face" was cut to "Reject: not-…").
        reasons = catalog_view.REJECT_REASONS
        for start in range(0, len(reasons), 2):
            for i, col in enumerate(st.columns(2), start=start):
                if i < len(reasons) and col.button(
                        reasons[i], icon=":material/close:", shortcut=str(i + 1),
                        key=f"reject-{reasons[i]}", width="stretch", wrap=True):
                    apply([(crop["sha256"], "reject", reasons[i])])
                    st.rerun()
        with st.form("custom-reason", clear_on_submit=True, border=False):
            c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
            custom = c1.text_input("Other reason")
            if c2.form_submit_button("Reject") and custom.strip():
                apply([(crop["sha256"], "reject", custom.strip()[:80])])
                st.rerun()
    if len(queue) > 1:
        st.caption("Next in the queue (unsure first, one of each kind before a second)")
        st.image([r["filepath"] for r in queue[1:]], width=80)


def review_bulk(ds, apply) -> None:
    c1, c2, c3 = st.columns(3)
    decision = c1.selectbox("Decision", ["all", "accepted", "rejected", "duplicate"],
                            key="b-decision")
    domain = c2.selectbox("Source domain", ["all", *catalog_view.domains(ds)], key="b-domain")
    min_pollution = c3.slider("Pollution at least", 0.0, 1.0, 0.0, 0.05, key="b-pollution")
    view = filter_crops(ds, CropFilters(
        decision=None if decision == "all" else decision,
        domain=None if domain == "all" else domain,
        pollution=(min_pollution, 1.0) if min_pollution > 0 else None))
    rows = catalog_view.page_of(view, 0, 48)
    st.caption(f"{view.count()} crops match; the first {len(rows)} are shown.")
    picked = []
    for start in range(0, len(rows), 6):
        for col, row in zip(st.columns(6), rows[start:start + 6], strict=False):
            col.image(row["filepath"], width=96)
            if col.checkbox(row["human_label"] or "—", key=f"pick-{row['id']}"):
                picked.append(row["sha256"])
    c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="bottom")
    reason = c3.selectbox("Reason", catalog_view.REJECT_REASONS, key="b-reason")
    if c1.button(f"Accept {len(picked)}", disabled=not picked, key="bulk-accept"):
        apply([(sha, "accept", "") for sha in picked])
        st.rerun()
    if c2.button(f"Reject {len(picked)}", disabled=not picked, key="bulk-reject"):
        apply([(sha, "reject", reason) for sha in picked])
        st.rerun()


render()
