"""Duplicates: near-duplicate groups side by side, the kept crop marked, why each crop is linked
to it (hash and embedding distances, same or near-identical source image); choose which is kept.
A rejected crop is never the kept copy: "Keep this" on one says so and offers to accept it."""

from __future__ import annotations

import math

import streamlit as st

from app import catalog_view, common
from curation.catalog import duplicate_groups, duplicate_links, set_label
from curation.rescoring import set_kept
from studio.workspace import Workspace

PER_PAGE = 10


def render() -> None:
    ws = common.workspace()
    st.title("Duplicates")
    ds = catalog_view.dataset_or_start_here(ws)
    groups = duplicate_groups(ds)
    if not groups:
        st.success("No near-duplicates in the catalog.")
        return
    limits = thresholds(ws)
    st.caption(f"Two crops are linked when their pHash or dHash (also mirrored) is within "
               f"{limits['hash']} of 64 bits *and* their embeddings within cosine distance "
               f"{limits['embedding']:.2f}, or when they sit at the same place of near-identical "
               f"source images (pHash within {limits['source']} bits: a re-encoded or mirrored "
               "copy). A group is everything linked, directly or through another member.")
    pages = math.ceil(len(groups) / PER_PAGE)
    page = st.number_input("Page", 1, pages, 1, help=f"{len(groups)} groups, {PER_PAGE} a page") - 1
    for gid in sorted(groups)[page * PER_PAGE:(page + 1) * PER_PAGE]:
        group(ds, ws, gid, groups[gid], limits)


def thresholds(ws: Workspace) -> dict[str, float]:
    """The linking thresholds of this workspace's curation (its studio.toml, else defaults)."""
    from curation.decide import SOURCE_HASH_DISTANCE
    from studio.config import load_config

    try:
        cfg = load_config(ws.config_path).curate
    except Exception:  # a broken studio.toml is the CLI's to report; show the defaults
        from curation.config import CurateConfig

        cfg = CurateConfig()
    return {"hash": cfg.hash_distance, "embedding": cfg.embedding_distance,
            "source": SOURCE_HASH_DISTANCE}


def why(link: dict, limits: dict) -> str:
    """The strongest reason a member is linked to the kept crop, in words."""
    if link["identical"]:
        return "the identical crop"
    near_hash = min((d for d in (link["phash"], link["dhash"]) if d is not None),
                    default=99) <= limits["hash"]
    near_emb = link["cosine"] is not None and link["cosine"] <= limits["embedding"]
    if near_hash and near_emb:
        return "a near copy" + (" (mirrored)" if link["phash_mirrored"] else "")
    if link["source_phash"] is not None and link["source_phash"] <= limits["source"]:
        return ("the same face of the same picture" if link["same_source"] else
                "the same face in a near-identical picture")
    return "linked through another member"


def evidence(link: dict) -> str:
    """The distances themselves, rounded, on one short line each."""
    parts = []
    if link["phash"] is not None:
        parts.append(f"pHash {link['phash']} · dHash {link['dhash']} bits"
                     + (" (mirror)" if link["phash_mirrored"] else ""))
    if link["cosine"] is not None:
        parts.append(f"embedding {link['cosine']:.3f}")
    if link["same_source"]:
        parts.append("same source image")
    elif link["source_phash"] is not None:
        parts.append(f"sources {link['source_phash']} bits apart")
    return "  \n".join(parts)


def group(ds, ws: Workspace, gid: str, members: list[dict], limits: dict) -> None:
    """One group's crops in a row: the kept one marked, why each other is linked to it, a
    button to keep any other."""
    links = duplicate_links(ds, gid)
    with st.container(border=True):
        st.markdown(f"Group `{gid}` · {len(members)} crops")
        note = st.session_state.get("dup_note")
        if note and note["group"] == gid:
            note_box(ds, ws, gid, note)
        for col, m in zip(st.columns(max(len(members), 4)), members, strict=False):
            col.image(m["filepath"], width=128)
            if m["dup_kept"]:
                col.markdown(":green[**kept**]")
            elif col.button("Keep this", key=f"keep-{gid}-{m['sha256']}",
                            help="Rejected crops cannot be kept: you will be asked to accept it"
                                 if m["decision"] == "rejected" else None):
                keep(ds, gid, m)
                st.rerun()
            reasons = ", ".join(m.get("reasons") or [])
            col.caption(f"{m['face_px'] or '?'} px · q {m['quality'] or 0:.1f} · {m['decision']}"
                        + (f" ({reasons})" if m["decision"] == "rejected" and reasons else ""))
            if m["sha256"] in links:
                link = links[m["sha256"]]
                col.markdown(f"**{why(link, limits)}**")
                col.caption(evidence(link))


def keep(ds, gid: str, member: dict) -> None:
    """Keep `member`; when the catalog keeps another (a rejected crop is never kept), say so."""
    set_kept(ds, gid, member["sha256"])
    now = {m["sha256"]: m for m in duplicate_groups(ds).get(gid, [])}
    if now.get(member["sha256"], {}).get("dup_kept"):
        st.session_state.dup_note = {"group": gid, "kept": True, "sha256": member["sha256"]}
        return
    kept = next((s for s, m in now.items() if m["dup_kept"]), None)
    st.session_state.dup_note = {"group": gid, "kept": False, "sha256": member["sha256"],
                                 "reasons": member.get("reasons") or [], "instead": kept}


def note_box(ds, ws: Workspace, gid: str, note: dict) -> None:
    """What the last "Keep this" did in this group (and, when it could not, the way out)."""
    sha = note["sha256"][:10]
    if note["kept"]:
        st.success(f"`{sha}` is now the kept copy of this group; the others are duplicates.",
                   icon=":material/check:")
        return
    reasons = ", ".join(note["reasons"]) or "rejected"
    st.warning(f"`{sha}` was not kept: it is rejected ({reasons}), and a rejected crop is never "
               f"the kept copy, so `{(note['instead'] or '?')[:10]}` stays kept. Your choice is "
               "remembered: accept the crop and it becomes the kept copy.",
               icon=":material/info:")
    if st.button("Accept it and keep it", key=f"accept-keep-{gid}", type="primary"):
        set_label(ds, note["sha256"], "accept")
        catalog_view.rescorer(ws).request()
        set_kept(ds, gid, note["sha256"])  # refreshes the decisions with the new label
        st.session_state.dup_note = {"group": gid, "kept": True, "sha256": note["sha256"]}
        st.rerun()


render()
