"""Decisions of the catalog: duplicate groups, then accepted / rejected / duplicate per crop.

Pollution probabilities come from `curation.scoring`; `decide` works on plain columns. Rescoring
(scores, then decisions, after a human's word) is `curation.rescoring`, above this module.

Human labels always win: a human `reject` is rejected, a human `accept` skips the automatic
quality and pollution checks; curate never writes the human_* fields.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from curation.catalog.columns import read_vectors, write_columns
from curation.catalog.info import CatalogInfo
from curation.catalog.schema import DECISIONS
from curation.config import CurateConfig
from curation.dedup import (
    best_member,
    confirmed_pairs,
    copy_groups,
    hash_pairs,
    same_place,
    source_pairs,
    unique_pairs,
)
from curation.features import to_unsigned
from curation.files import ImageDecodeError, load_rgb

log = logging.getLogger(__name__)

# Source images within this many pHash bits (of 64) are copies of one picture: re-encoding at
# JPEG q60 moves a whole-image pHash by 0-2 bits, distinct photos sit 8+ apart
# (bench/dedup.py); the face boxes must then overlap by SOURCE_BOX_IOU.
SOURCE_HASH_DISTANCE = 4
SOURCE_BOX_IOU = 0.5
# The catalog columns duplicate grouping reads (besides the embeddings).
DUPLICATE_COLUMNS = ("sha256", "phash", "dhash", "phash_flip", "dhash_flip", "source_phash",
                     "source_phash_flip", "bbox", "source_size", "source_sha256")


def group_duplicates(dataset, cfg: CurateConfig, workers: int = 2,
                     source_file: Callable[[str], Path | None] | None = None) -> int:
    """Recompute duplicate groups over all crops: equal sha256; near pHash/dHash (mirror too)
    confirmed by near embeddings; crops at the same place of near-identical source images
    (re-encoded or mirrored copies) — unless, with `cfg.keep_expressions`, the faces there differ
    (other expressions of one picture; `source_file(sha256)` finds a source picture to compare).
    Returns the number of groups."""
    ids, *values = dataset.values(["id", *DUPLICATE_COLUMNS])
    n = len(ids)
    if n < 2:
        dataset.set_field("dup_group", None).save()
        return 0
    columns = dict(zip(DUPLICATE_COLUMNS, values, strict=True))
    columns["embedding"] = np.stack(read_vectors(dataset, "embedding")[1])
    load = None
    if cfg.keep_expressions and source_file is not None:
        sources = columns["source_sha256"]
        load = lambda i: _load_small(source_file(sources[i]))  # noqa: E731
    groups = duplicate_members(columns, cfg, workers, load)
    shas = columns["sha256"]
    group_of: dict[str, str] = {}
    for members in groups:
        gid = hashlib.sha256("".join(sorted(shas[i] for i in members)).encode()).hexdigest()[:12]
        for i in members:
            group_of[ids[i]] = gid
    dataset.set_values("dup_group", {i: group_of.get(i) for i in ids}, key_field="id")
    return len(groups)


def duplicate_members(columns: dict, cfg: CurateConfig, workers: int = 2,
                      load: Callable[[int], tuple[np.ndarray, float] | None] | None = None,
                      ) -> list[list[int]]:
    """The duplicate groups (crop indices) of the crops whose `DUPLICATE_COLUMNS` and
    `embedding` are given as columns; `load(i)` gives crop i's source picture for the
    expression test (None: no test). Pure: bench/dedup.py runs it without a catalog."""
    shas = columns["sha256"]
    n = len(shas)
    hash_sets = {name: to_unsigned(columns[name]) for name in ("phash", "dhash", "phash_flip", "dhash_flip")}
    emb = np.asarray(columns["embedding"], np.float64)
    src = _source_pairs(columns, workers)
    hashed = hash_pairs(hash_sets, cfg.hash_distance, workers)
    # A pair the source link joins is linked whatever its embeddings: only the others are checked.
    hashed = hashed[~np.isin(hashed[:, 0] * n + hashed[:, 1], src[:, 0] * n + src[:, 1])]
    near = confirmed_pairs(hashed, emb, cfg.embedding_distance)
    # Both kinds of link join the expressions of one picture (often the same pair twice): one
    # set of links, each pair's pictures compared once.
    linked = unique_pairs([near, src], n)
    first: dict[str, int] = {}
    exact = [(first.setdefault(s, i), i) for i, s in enumerate(shas) if first.get(s, i) != i]
    boxes = columns["bbox"]
    comparable = same_place(linked, boxes, columns["source_size"]) if load is not None else None
    return copy_groups(n, linked, exact, boxes, load, comparable=comparable)


def _source_pairs(columns: dict, workers: int) -> np.ndarray:
    """Pairs from near-identical source images (crops cataloged before source hashes existed
    have none and take part through their crop hashes only)."""
    h, hf, bbox, size = (columns[c] for c in ("source_phash", "source_phash_flip", "bbox", "source_size"))
    have = np.array([a is not None and b is not None and bool(c) and bool(d)
                     for a, b, c, d in zip(h, hf, bbox, size, strict=True)], dtype=bool)
    idx = np.flatnonzero(have)
    if len(idx) < 2:
        return np.empty((0, 2), np.int64)
    pairs = source_pairs(to_unsigned([h[i] for i in idx]), to_unsigned([hf[i] for i in idx]),
                         np.array([bbox[i] for i in idx]), np.array([size[i] for i in idx]),
                         SOURCE_HASH_DISTANCE, SOURCE_BOX_IOU, workers)
    return idx[pairs] if len(pairs) else pairs


def _load_small(path: Path | None, longest: int = 1024) -> tuple[np.ndarray, float] | None:
    """A source picture at most `longest` pixels on its long side, and the scale used."""
    import cv2

    if path is None:
        return None
    try:
        rgb = load_rgb(path)
    except ImageDecodeError:
        return None
    scale = min(1.0, longest / max(rgb.shape[:2]))
    if scale < 1.0:
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return rgb, scale


def update_uniqueness(dataset) -> None:
    """fiftyone.brain's uniqueness score (for sorting in the App), from our embeddings."""
    import fiftyone.brain as fob

    if len(dataset) < 3:
        return
    fob.compute_uniqueness(dataset, embeddings=np.stack(read_vectors(dataset, "embedding")[1]),
                           progress=False)


def decide(human: list, human_reason: list, quality_reasons: list, pollution: list, group: list,
           kept_by: list, face_px: list, quality: list, threshold: float, cause: list | None = None,
           ) -> tuple[list[str], list[list[str]], list[bool]]:
    """(decision, reasons, dup_kept) of every crop, from its columns (plain arrays, no catalog).
    A polluted crop's reason names what weighed most (`polluted:photo`, `polluted:atypical`,
    `polluted:filter`: the `pollution_cause` column)."""
    n = len(human)
    reasons: list[list[str]] = []
    for k in range(n):
        if human[k] == "reject":
            reasons.append([f"human:{human_reason[k] or 'reject'}"])
        elif human[k] == "accept":
            reasons.append([])
        else:
            r = list(quality_reasons[k] or [])
            if (pollution[k] or 0) >= threshold:
                r.append(f"polluted:{cause[k]}" if cause and cause[k] else "polluted")
            reasons.append(r)
    members: dict[str, list[int]] = {}
    for k, g in enumerate(group):
        if g:
            members.setdefault(g, []).append(k)
    # A near copy of a crop a human rejected is suspect: what was wrong with it (a mask, a cat,
    # a watermark) is almost surely in the copy too. A human accept of the copy still wins.
    for g_members in members.values():
        if any(human[k] == "reject" for k in g_members):
            for k in g_members:
                if not human[k]:
                    reasons[k].append("like_rejected")
    eligible = [not r for r in reasons]
    kept = [True] * n
    for g_members in members.values():
        chosen = [k for k in g_members if kept_by[k] == "human" and eligible[k]]
        keep = chosen[0] if chosen else best_member(g_members, face_px, quality, eligible)
        for k in g_members:
            kept[k] = k == keep
    decision = ["rejected" if reasons[k] else ("accepted" if kept[k] else "duplicate") for k in range(n)]
    for k in range(n):
        if decision[k] == "duplicate":
            reasons[k] = ["duplicate"]
    return decision, reasons, kept


def refresh_decisions(dataset, cfg: CurateConfig | None = None) -> dict[str, int]:
    """Set decision, reasons, dup_kept and the accepted/rejected/duplicate tags of every crop."""
    threshold = cfg.pollution_threshold if cfg else CatalogInfo.load(dataset).pollution_threshold
    cols = ["id", "human_label", "human_reason", "quality_reasons", "pollution", "dup_group",
            "dup_kept_by", "face_px", "quality", "pollution_cause"]
    ids, *columns, cause = dataset.values(cols)
    decision, reasons, kept = decide(*columns, threshold=threshold, cause=cause)
    old_cols = ("decision", "reasons", "dup_kept", "tags")
    old = dict(zip(old_cols, dataset.values(list(old_cols)), strict=True))
    tags = [[t for t in (old["tags"][k] or []) if t not in DECISIONS] + [decision[k]]
            for k in range(len(ids))]
    # The tags mirror the decision for the FiftyOne App's sidebar; only changed crops are written.
    write_columns(dataset, ids, {"decision": decision, "reasons": reasons, "dup_kept": kept,
                                 "tags": tags}, old=old)
    return {name: decision.count(name) for name in DECISIONS}

