"""Decisions of the catalog: duplicate groups, pollution probabilities, accepted/rejected tags.

Human labels always win: a human `reject` is rejected, a human `accept` skips the automatic
quality and pollution checks; curate never writes the human_* fields.
"""

from __future__ import annotations

import hashlib
import logging

import numpy as np

from curation import filter_model
from curation.config import CurateConfig
from curation.dedup import best_member, connected_groups, hash_pairs
from curation.features import to_unsigned

log = logging.getLogger(__name__)


def group_duplicates(dataset, cfg: CurateConfig, workers: int = 2) -> int:
    """Recompute duplicate groups over all crops: equal sha256, near pHash/dHash (mirror too),
    and near embeddings through fiftyone.brain. Returns the number of groups."""
    cols = ["id", "sha256", "phash", "dhash", "phash_flip", "dhash_flip"]
    ids, shas, *hashes = dataset.values(cols)
    n = len(ids)
    if n < 2:
        dataset.set_field("dup_group", None).save()
        return 0
    hash_sets = {name: to_unsigned(v) for name, v in zip(cols[2:], hashes, strict=True)}
    pairs = [hash_pairs(hash_sets, cfg.hash_distance, workers)]
    first: dict[str, int] = {}
    exact = [(first.setdefault(s, i), i) for i, s in enumerate(shas) if first.get(s, i) != i]
    pairs.append(np.array(exact, dtype=np.int64).reshape(-1, 2))
    pairs.append(_embedding_pairs(dataset, ids, cfg.embedding_distance))
    groups = connected_groups(n, np.concatenate(pairs))
    group_of: dict[str, str] = {}
    for members in groups:
        gid = hashlib.sha256("".join(sorted(shas[i] for i in members)).encode()).hexdigest()[:12]
        for i in members:
            group_of[ids[i]] = gid
    dataset.set_values("dup_group", {i: group_of.get(i) for i in ids}, key_field="id")
    return len(groups)


def _embedding_pairs(dataset, ids: list[str], threshold: float) -> np.ndarray:
    """Pairs whose own embeddings are within `threshold` (cosine), via fiftyone.brain."""
    import fiftyone.brain as fob

    emb = np.stack(dataset.values("embedding"))
    if len(emb) < 2 or not np.isfinite(emb).all():
        return np.empty((0, 2), np.int64)
    # embeddings= is always given, so brain never falls back to downloading its default model.
    index = fob.compute_near_duplicates(dataset, embeddings=emb, threshold=threshold, progress=False)
    pos = {i: k for k, i in enumerate(ids)}
    out = [(pos[a], pos[b]) for a, near in index.neighbors_map.items() for b, _ in near]
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def update_uniqueness(dataset) -> None:
    """fiftyone.brain's uniqueness score (for sorting in the App), from our embeddings."""
    import fiftyone.brain as fob

    if len(dataset) < 3:
        return
    fob.compute_uniqueness(dataset, embeddings=np.stack(dataset.values("embedding")),
                           progress=False)


def update_pollution(dataset, cfg: CurateConfig, force: bool = False) -> dict | None:
    """Retrain the learned filter when the labels changed, then score every crop."""
    cols = ["id", "sha256", "human_label", "features", "cat", "disagree", "rule_pollution"]
    ids, shas, labels, feats, cat, disagree, rule = dataset.values(cols)
    if not ids:
        return None
    model = dataset.info.get(filter_model.INFO_KEY)
    digest = filter_model.labels_digest(shas, labels)
    x = filter_model.design_matrix(feats, cat, disagree, rule)
    if force or model is None or model.get("digest") != digest:
        labelled = [k for k, lab in enumerate(labels) if lab]
        y = np.array([labels[k] == "reject" for k in labelled], dtype=np.int64)
        model = filter_model.train(x[labelled], y) if labelled else None
        if model is not None:
            model["digest"] = digest
            log.info("pollution filter retrained: cv accuracy %.3f", model["cv_accuracy"])
        dataset.info[filter_model.INFO_KEY] = model
        dataset.save()
    if model is not None:
        p = filter_model.predict(model, x)
        source = "model"
    else:
        p = np.asarray(rule, dtype=np.float64)
        source = "rules"
    certainty = np.abs(p - cfg.pollution_threshold)
    dataset.set_values("pollution", dict(zip(ids, p.round(4).tolist(), strict=True)), key_field="id")
    dataset.set_values("certainty", dict(zip(ids, certainty.tolist(), strict=True)), key_field="id")
    dataset.set_values("pollution_source", dict.fromkeys(ids, source), key_field="id")
    return model


def refresh_decisions(dataset, cfg: CurateConfig | None = None) -> dict[str, int]:
    """Set decision, reasons, dup_kept and the accepted/rejected/duplicate tags of every crop."""
    cfg = cfg or CurateConfig(pollution_threshold=dataset.info.get("pollution_threshold", 0.5))
    cols = ["id", "human_label", "human_reason", "quality_reasons", "pollution", "dup_group",
            "dup_kept_by", "face_px", "quality"]
    ids, human, hreason, qreasons, pollution, group, kept_by, face_px, quality = dataset.values(cols)
    reasons: list[list[str]] = []
    for k in range(len(ids)):
        if human[k] == "reject":
            reasons.append([f"human:{hreason[k] or 'reject'}"])
        elif human[k] == "accept":
            reasons.append([])
        else:
            r = list(qreasons[k] or [])
            if (pollution[k] or 0) >= cfg.pollution_threshold:
                r.append("polluted")
            reasons.append(r)
    eligible = [not r for r in reasons]
    members: dict[str, list[int]] = {}
    for k, g in enumerate(group):
        if g:
            members.setdefault(g, []).append(k)
    kept = [True] * len(ids)
    for g_members in members.values():
        chosen = [k for k in g_members if kept_by[k] == "human" and eligible[k]]
        keep = chosen[0] if chosen else best_member(g_members, face_px, quality, eligible)
        for k in g_members:
            kept[k] = k == keep
    decision = ["rejected" if reasons[k] else ("accepted" if kept[k] else "duplicate")
                for k in range(len(ids))]
    for k in range(len(ids)):
        if decision[k] == "duplicate":
            reasons[k] = ["duplicate"]
    dataset.set_values("decision", dict(zip(ids, decision, strict=True)), key_field="id")
    dataset.set_values("reasons", dict(zip(ids, reasons, strict=True)), key_field="id")
    dataset.set_values("dup_kept", dict(zip(ids, kept, strict=True)), key_field="id")
    from fiftyone import ViewField as F

    dataset.untag_samples(["accepted", "rejected", "duplicate"])
    for name in ("accepted", "rejected", "duplicate"):
        dataset.match(F("decision") == name).tag_samples(name)
    return {name: decision.count(name) for name in ("accepted", "rejected", "duplicate")}
