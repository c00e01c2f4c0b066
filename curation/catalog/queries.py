"""What the pages and commands ask of the catalog: filtered crops, a crop's label, the review
queue, duplicate groups, the App's saved views, the crawled → accepted funnel."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from curation.catalog.columns import decode_vector, samples
from curation.catalog.connect import open_catalog, open_sources
from curation.errors import CurationError


def domain_of(url: str | None) -> str:
    return (urlparse(url or "").hostname or "unknown").lower()


@dataclass
class CropFilters:
    """Which crops to show; None (the default) does not filter on that field."""

    decision: str | None = None  # accepted, rejected, duplicate
    label: str | None = None  # accept, reject, unlabelled
    domain: str | None = None
    quality: tuple[float, float] | None = None  # inclusive bounds
    pollution: tuple[float, float] | None = None  # inclusive bounds
    group: str | None = None  # a duplicate group id, or "any" for crops in some group


def filter_crops(dataset, f: CropFilters):
    """The crops matching the filters, as a FiftyOne view (nothing is loaded yet: page it with
    skip/limit, which run in the database)."""
    from fiftyone import ViewField as F

    view = dataset.view()
    if f.decision:
        view = view.match(F("decision") == f.decision)
    if f.label == "unlabelled":
        view = view.match(F("human_label") == None)  # noqa: E711 (a MongoDB expression)
    elif f.label:
        view = view.match(F("human_label") == f.label)
    if f.domain:
        view = view.match(F("domain") == f.domain)
    for name, bounds in (("quality", f.quality), ("pollution", f.pollution)):
        if bounds is not None:
            view = view.match((F(name) >= bounds[0]) & (F(name) <= bounds[1]))
    if f.group == "any":
        view = view.match(F("dup_group") != None)  # noqa: E711
    elif f.group:
        view = view.match(F("dup_group") == f.group)
    return view


def label_of(dataset, sha256: str) -> tuple[str | None, str]:
    """The current human label and reason of a crop hash ((None, "") when unlabelled or unknown),
    e.g. to undo a label."""
    from fiftyone import ViewField as F

    view = dataset.match(F("sha256") == sha256).limit(1)
    labels, reasons = view.values(["human_label", "human_reason"])
    return (labels[0], reasons[0] or "") if labels else (None, "")


def accepted_shas(dataset) -> set[str]:
    """The hashes of the accepted crops (what an export would take)."""
    from fiftyone import ViewField as F

    return set(dataset.match(F("decision") == "accepted").distinct("sha256"))


def accepted_by(dataset, field: str) -> tuple[list[str], list]:
    """(sha256, `field`) of every accepted crop, in the catalog's order, e.g. crops by domain."""
    from fiftyone import ViewField as F

    shas, values = dataset.match(F("decision") == "accepted").values(["sha256", field])
    return shas, values


def filepaths(dataset, shas) -> dict[str, str]:
    """sha256 → crop file of these hashes (unknown hashes are left out)."""
    from fiftyone import ViewField as F

    view = dataset.match(F("sha256").is_in(list(shas)))
    return dict(zip(*view.values(["sha256", "filepath"]), strict=True))


def review_queue(dataset, n: int = 50):
    """The next `n` unlabelled crops to review, as an ordered view: among those the filter is
    least sure about, spread over the kinds of crop (`curation.review_order`), so a few clicks
    meet each kind of pollution. Reads a constant number of candidates (indexed on certainty),
    whatever the catalog's size."""
    from curation.review_order import POOL_FACTOR, POOL_MIN, diverse_order

    coll = samples(dataset)
    pool = list(coll.find({"human_label": None}, {"_id": 1, "certainty": 1, "embedding": 1})
                .sort("certainty", 1).hint("certainty_1")  # walk the index; never sort in memory
                .limit(max(POOL_MIN, POOL_FACTOR * n)))
    if not pool:
        return dataset.select([])
    certainty = np.array([d.get("certainty") if d.get("certainty") is not None else 0.0
                          for d in pool])
    layout: dict = {}
    emb = [np.zeros(0) if d.get("embedding") is None else decode_vector(d["embedding"], layout)
           for d in pool]
    width = max((len(e) for e in emb), default=0)
    emb = np.stack([e if len(e) == width else np.zeros(width) for e in emb]) if width else \
        np.zeros((len(pool), 1))
    order = diverse_order(certainty, emb, n)
    return dataset.select([str(pool[k]["_id"]) for k in order], ordered=True)


# The reason a rejected crop is filed under: its first (a rule, a quality test, a human's label).
FIRST_REASON = {"$ifNull": [{"$arrayElemAt": ["$reasons", 0]}, ""]}


def _rejected_match(labelled: bool, domain: str | None) -> dict:
    query: dict = {"decision": "rejected"}
    if not labelled:
        query["human_label"] = None
    if domain:
        query["domain"] = domain
    return query


def rejection_groups(dataset, labelled: bool = False, domain: str | None = None) -> list[tuple[str, int]]:
    """(first reason, crops) of the rejected crops, largest group first, counted in the database
    with one indexed $match and one $group. Without `labelled` only crops no human labelled: the
    rules' and the filter's rejections, the ones a human may rescue. "" groups crops rejected
    without a recorded reason."""
    coll = samples(dataset)
    rows = coll.aggregate([{"$match": _rejected_match(labelled, domain)},
                           {"$group": {"_id": FIRST_REASON, "n": {"$sum": 1}}}])
    return sorted(((r["_id"], r["n"]) for r in rows), key=lambda kv: (-kv[1], kv[0]))


def rejected_crops(dataset, reason: str | None = None, labelled: bool = False,
                   domain: str | None = None):
    """The rejected crops filed under `reason` (their first reason; None: any), as a view to page
    with skip/limit; `labelled` and `domain` as in `rejection_groups`."""
    from fiftyone import ViewField as F

    view = dataset.match(F("decision") == "rejected")
    if not labelled:
        view = view.match(F("human_label") == None)  # noqa: E711 (a MongoDB expression)
    if domain:
        view = view.match(F("domain") == domain)
    if reason is not None:
        view = view.match({"$expr": {"$eq": [FIRST_REASON, reason]}})
    return view


def duplicate_groups(dataset) -> dict[str, list[dict]]:
    """group id → members (sha256, id, kept, decision, reasons, face_px, quality), kept first."""
    from fiftyone import ViewField as F

    view = dataset.match(F("dup_group") != None)  # noqa: E711
    cols = ["dup_group", "id", "sha256", "dup_kept", "decision", "reasons", "face_px", "quality",
            "filepath"]
    groups: dict[str, list[dict]] = {}
    for row in zip(*view.values(cols), strict=True):
        member = dict(zip(cols, row, strict=True))
        groups.setdefault(member.pop("dup_group"), []).append(member)
    for members in groups.values():
        members.sort(key=lambda m: not m["dup_kept"])
    return groups


def _bits(a: int | None, b: int | None) -> int | None:
    """Hamming distance of two stored 64-bit hashes (stored signed)."""
    if a is None or b is None:
        return None
    return ((a ^ b) & 0xFFFF_FFFF_FFFF_FFFF).bit_count()


def duplicate_links(dataset, group: str) -> dict[str, dict[str, Any]]:
    """Why the members of a duplicate group are linked: for each member but the kept one
    (sha256 → evidence), compared with the kept member: crop pHash and dHash distances in bits
    (the smaller of straight and mirrored, and whether mirrored), the embeddings' cosine
    distance, whether both come from one source image, and their source images' pHash distance
    (near-identical pictures: re-encoded or mirrored copies). Members linked only through
    another member show distances above the thresholds."""
    from fiftyone import ViewField as F

    cols = ["sha256", "dup_kept", "phash", "dhash", "phash_flip", "dhash_flip", "source_sha256",
            "source_phash", "source_phash_flip", "embedding"]
    view = dataset.match(F("dup_group") == group)
    rows = [dict(zip(cols, r, strict=True)) for r in zip(*view.values(cols), strict=True)]
    kept = next((r for r in rows if r["dup_kept"]), rows[0] if rows else None)
    if kept is None:
        return {}

    def unit(v) -> np.ndarray | None:
        if v is None:
            return None
        v = np.asarray(v, dtype=np.float64).ravel()
        norm = np.linalg.norm(v)
        return v / norm if norm else None

    k_emb = unit(kept["embedding"])
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r is kept:
            continue
        evidence: dict[str, Any] = {"identical": r["sha256"] == kept["sha256"]}
        for name in ("phash", "dhash"):
            straight = _bits(r[name], kept[name])
            mirrored = _bits(r[f"{name}_flip"], kept[name])
            best = min((d for d in (straight, mirrored) if d is not None), default=None)
            evidence[name] = best
            evidence[f"{name}_mirrored"] = best is not None and best != straight
        emb = unit(r["embedding"])
        evidence["cosine"] = (float(1 - emb @ k_emb) if emb is not None and k_emb is not None
                              and emb.shape == k_emb.shape else None)
        evidence["same_source"] = bool(r["source_sha256"]) and r["source_sha256"] == kept["source_sha256"]
        evidence["source_phash"] = min((d for d in (_bits(r["source_phash"], kept["source_phash"]),
                                                    _bits(r["source_phash_flip"], kept["source_phash"]))
                                        if d is not None), default=None)
        out[r["sha256"]] = evidence
    return out


def set_kept(dataset, group: str, sha256: str) -> None:
    """Keep this member of a duplicate group instead of the automatic choice (a human choice).
    The decisions follow once the caller refreshes them (`curation.rescoring.set_kept` does)."""
    from fiftyone import ViewField as F

    view = dataset.match(F("dup_group") == group)
    if not view.match(F("sha256") == sha256).count():
        raise CurationError(f"{sha256} is not in duplicate group {group}")
    ids, shas = view.values(["id", "sha256"])
    view.set_values("dup_kept_by", {i: ("human" if s == sha256 else None)
                                    for i, s in zip(ids, shas, strict=True)}, key_field="id")


def ensure_saved_views(dataset) -> None:
    """The App's saved views: review queue, duplicates, rejected, accepted."""
    from fiftyone import ViewField as F

    views = {
        "review queue": review_queue(dataset, 200),
        "duplicates": dataset.match(F("dup_group") != None).sort_by("dup_group"),  # noqa: E711
        "rejected": dataset.match_tags("rejected"),
        "accepted": dataset.match_tags("accepted"),
    }
    for name, view in views.items():
        dataset.save_view(name, view, overwrite=True)


def funnel(workspace_root: Path | str, manifest: list[dict] | None = None) -> dict[str, Any]:
    """crawled → detected → cropped → unique → accepted, in total and per source domain."""
    root = Path(workspace_root).expanduser().resolve()
    if manifest is None:
        from curation.manifest import read_manifest

        manifest = list(read_manifest(root / "raw" / "manifest.jsonl"))
    crawled: dict[str, str] = {}
    for m in manifest:
        crawled.setdefault(m["sha256"], domain_of(m.get("page_url") or m.get("url")))
    ds, sources = open_catalog(root), open_sources(root)
    detected, failed = Counter(), Counter()
    for (domain, faces, status), n in count_by(sources, "domain", "faces", "status").items():
        detected[domain] += n if faces else 0
        failed[domain] += n if status in ("corrupt", "missing", "failed", "refused") else 0
    cropped, unique, accepted = Counter(), Counter(), Counter()
    for (domain, decision), n in count_by(ds, "domain", "decision").items():
        cropped[domain] += n
        unique[domain] += n if decision != "duplicate" else 0
        accepted[domain] += n if decision == "accepted" else 0
    stages = {"crawled": Counter(crawled.values()), "detected": +detected, "cropped": cropped,
              "unique": unique, "accepted": accepted}
    names = sorted(set().union(*stages.values()))
    return {
        **{stage: sum(c.values()) for stage, c in stages.items()},
        "unreadable": sum(failed.values()),
        "per_domain": {d: {stage: c.get(d, 0) for stage, c in stages.items()} for d in names},
    }


def count_by(dataset, *fields: str, **expressions) -> dict[tuple, int]:
    """Crops per combination of field values (and of MongoDB `expressions`, e.g. a threshold
    test), counted in the database with one $group: the Overview and `studio status` stay fast
    at 100k crops without reading every crop. Keys: the values in the order given."""
    keys = {**{f: f"${f}" for f in fields}, **expressions}
    rows = samples(dataset).aggregate([{"$group": {"_id": keys, "n": {"$sum": 1}}}])
    return {tuple(r["_id"].get(k) for k in keys): r["n"] for r in rows}
