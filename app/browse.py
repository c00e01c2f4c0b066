"""Browse: the crops of the catalog, filtered, sorted and paginated in the database; label a crop
from the grid or from its detail view (`app.labelling`: at once, undoable, rescored later)."""

from __future__ import annotations

import math

import streamlit as st
from PIL import Image, ImageDraw

from app import catalog_view, common, labelling
from curation.catalog import CropFilters, filter_crops
from studio.workspace import Workspace

COLS = 6
# Sort choice → MongoDB sort keys (the hash breaks ties: `catalog_view.page_of`).
SORTS = {
    "newest first": [("added_at", -1)],
    "quality: best first": [("quality", -1)],
    "quality: worst first": [("quality", 1)],
    "pollution: highest first": [("pollution", -1)],
    "pollution: lowest first": [("pollution", 1)],
    "detector score: highest first": [("detector_score", -1)],
    "hash": [],
}


def render() -> None:
    ws = common.workspace()
    st.title("Browse")
    ds = catalog_view.dataset_or_start_here(ws)
    view = filter_crops(ds, filter_form(ds))
    total = view.count()

    c1, c2, c3, c4, c5 = st.columns([2, 1, 1, 1.3, 2.7], vertical_alignment="bottom")
    order = c1.selectbox("Sort by", list(SORTS), key="sort")
    size = c2.selectbox("Per page", [24, 48, 96], key="page-size")
    pages = max(1, math.ceil(total / size))
    page = c3.number_input("Page", 1, pages, 1, key="page") - 1
    rescorer = catalog_view.rescorer(ws)
    if c4.button("Undo", icon=":material/undo:", disabled=not labelling.can_undo(), shortcut="U",
                 key="browse-undo"):
        labelling.undo(ds, rescorer)
        st.rerun()
    last = st.session_state.get("last_action")
    c5.caption(f"{total} of {len(ds)} crops · page {page + 1} of {pages}"
               + (f" · last: {last}" if last else ""))

    rows = catalog_view.page_of(view, page, size, order=SORTS[order])
    if not rows:
        st.info("No crop matches these filters.")
    for start in range(0, len(rows), COLS):
        cols = st.columns(COLS)
        for col, row in zip(cols, rows[start:start + COLS], strict=False):
            with col:
                tile(ds, rescorer, row)

    if st.session_state.get("detail"):  # open until dismissed or a label is given in it
        detail(ws, ds, rescorer, st.session_state.detail)


def caption_of(row: dict) -> str:
    """A tile's one-line caption, rounded (Details has every score)."""
    return f"{row['decision'] or '?'} · q {row['quality'] or 0:.1f} · p {row['pollution'] or 0:.2f}"


def tile(ds, rescorer, row: dict) -> None:
    """A crop, its caption on one line, and accept / reject / details buttons."""
    st.image(row["filepath"], width=120)
    st.caption(caption_of(row), wrap=False)  # one line: cut with an ellipsis, never wrapped
    sha, human = row["sha256"], row["human_label"]
    with st.container(horizontal=True, gap="small"):
        if st.button("", icon=":material/check:", key=f"acc-{row['id']}", type="tertiary",
                     disabled=human == "accept",
                     help="Accepted by you" if human == "accept" else "Accept this crop"):
            labelling.apply(ds, rescorer, [(sha, "accept", "")])
            st.rerun()
        if st.button("", icon=":material/close:", key=f"rej-{row['id']}", type="tertiary",
                     disabled=human == "reject",
                     help="Rejected by you" if human == "reject" else "Reject this crop"):
            labelling.apply(ds, rescorer, [(sha, "reject", "")])
            st.rerun()
        if st.button("Details", key=f"detail-{row['id']}", type="tertiary"):
            st.session_state.detail = row["id"]


def full_range(ds, field: str) -> tuple[float, float]:
    lo, hi = ds.bounds(field)
    return (float(lo or 0.0), float(hi or 1.0)) if lo is not None else (0.0, 1.0)


def filter_form(ds) -> CropFilters:
    with st.expander("Filters", expanded=True, icon=":material/filter_alt:"):
        c1, c2, c3, c4 = st.columns(4)
        decision = c1.selectbox("Decision", ["all", "accepted", "rejected", "duplicate"], key="f-decision")
        label = c2.selectbox("Human label", ["all", "unlabelled", "accept", "reject"], key="f-label")
        domain = c3.selectbox("Source domain", ["all", *catalog_view.domains(ds)], key="f-domain")
        group = c4.text_input("Duplicate group", key="f-group", placeholder="id, or 'any'")
        c1, c2 = st.columns(2)
        q_full, p_full = full_range(ds, "quality"), (0.0, 1.0)
        quality = c1.slider("Quality", q_full[0], max(q_full[1], q_full[0] + 1e-6), q_full, key="f-quality")
        pollution = c2.slider("Pollution probability", 0.0, 1.0, p_full, 0.01, key="f-pollution")

    return CropFilters(
        decision=None if decision == "all" else decision,
        label=None if label == "all" else label,
        domain=None if domain == "all" else domain,
        quality=None if quality == q_full else quality,  # untouched: crops without a score stay in
        pollution=None if pollution == p_full else pollution,
        group=group.strip() or None,
    )


def rounded(value) -> str:
    """A score as people read it: floats to 3 significant digits, in lists too."""
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(rounded(v) for v in value) + "]"
    return "—" if value is None else str(value)


def _close_detail() -> None:
    st.session_state.pop("detail", None)


@st.dialog("Crop", width="large", on_dismiss=_close_detail)
def detail(ws: Workspace, ds, rescorer, sample_id: str) -> None:
    try:
        info = catalog_view.crop(ds, sample_id)
    except KeyError:  # curated again since: the crop has another id now
        _close_detail()
        st.info("This crop is no longer in the catalog.")
        return
    left, right = st.columns(2)
    with left:
        source = catalog_view.source_path(ws, info.get("source_sha256") or "")
        if source is None:
            st.info("The source image is not in raw/ any more.")
        else:
            with Image.open(source) as im:
                im = im.convert("RGB")
                x, y, w, h = info.get("bbox") or (0, 0, 0, 0)
                draw = ImageDraw.Draw(im)
                draw.rectangle([x, y, x + w, y + h], outline=(255, 0, 0), width=max(2, im.width // 200))
                if info.get("crop_box"):
                    cx, cy, cw, ch = info["crop_box"]
                    draw.rectangle([cx, cy, cx + cw, cy + ch], outline=(255, 200, 0), width=1)
                im.thumbnail((800, 800))
                st.image(im, caption="Source image: detection in red, crop in yellow")
        st.markdown(f"Page: {info.get('page_url') or '?'}  \nImage: {info.get('source_url') or '?'}")
    with right:
        st.image(info["filepath"], width=256, caption=info["sha256"][:16])
        scores = {k: info.get(k) for k in ("decision", "reasons", "human_label", "human_reason",
                                          "detector", "detector_score", "quality", "quality_reasons",
                                          "pollution", "pollution_source", "cat", "disagree",
                                          "uniqueness", "face_px", "upscale", "blur", "contrast",
                                          "brightness", "entropy")}
        st.dataframe({"field": list(scores), "value": [rounded(v) for v in scores.values()]},
                     hide_index=True)
        label_buttons(ds, rescorer, info)
        group_id = info.get("dup_group")
        if group_id:
            st.markdown(f"**Duplicate group** `{group_id}`")
            members = catalog_view.page_of(filter_crops(ds, CropFilters(group=group_id)), 0, 12)
            st.image([m["filepath"] for m in members], width=72,
                     caption=["kept" if m["decision"] != "duplicate" else "duplicate" for m in members])


def label_buttons(ds, rescorer, info: dict) -> None:
    """Accept or reject the crop from its detail view (closes the dialog, the grid updates)."""
    sha, human = info["sha256"], info.get("human_label")
    if human:
        st.caption(f"Your label: **{human}**" + (f" ({info['human_reason']})"
                                                 if info.get("human_reason") else ""))
    c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="bottom")
    reason = c3.selectbox("Reason", catalog_view.REJECT_REASONS, key="detail-reason")
    if c1.button("Accept", type="primary", icon=":material/check:", key="detail-accept",
                 disabled=human == "accept"):
        labelling.apply(ds, rescorer, [(sha, "accept", "")])
        _close_detail()
        st.rerun()
    if c2.button("Reject", icon=":material/close:", key="detail-reject"):
        labelling.apply(ds, rescorer, [(sha, "reject", reason)])
        _close_detail()
        st.rerun()


render()
