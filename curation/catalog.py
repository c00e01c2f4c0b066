"""The FiftyOne catalog of a workspace: connection, declared schema, labels, groups, queries.

Public API (also used by the Streamlit app): `open_catalog`, `set_label`, `review_queue`,
`duplicate_groups`, `set_kept`, `funnel`, `human_labels`. The database is started once per process
(cached) under a file lock, so two processes never start `mongod` on one folder at the same time.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from filelock import FileLock, Timeout

from curation.errors import CurationError

LABELS = ("accept", "reject")
DECISIONS = ("accepted", "rejected", "duplicate")
SAVED_VIEWS = ("review queue", "duplicates", "rejected", "accepted")

# Field name → FiftyOne field class name; declared up front so every sample has the same schema
# and the App shows the fields before any value is set.
CROP_FIELDS = {
    "sha256": "StringField", "key": "StringField", "source_sha256": "StringField",
    "source_url": "StringField", "page_url": "StringField", "domain": "StringField",
    "bbox": "ListField", "crop_box": "ListField", "detector": "StringField",
    "detector_score": "FloatField", "face_px": "IntField", "upscale": "FloatField",
    "blur": "FloatField", "brightness": "FloatField", "contrast": "FloatField",
    "entropy": "FloatField", "colour": "FloatField", "quality": "FloatField",
    "quality_reasons": "ListField", "cat": "BooleanField", "disagree": "BooleanField",
    "occluded": "BooleanField",
    "rule_pollution": "FloatField", "pollution": "FloatField", "pollution_source": "StringField",
    "certainty": "FloatField", "uniqueness": "FloatField",
    "phash": "IntField", "dhash": "IntField", "phash_flip": "IntField", "dhash_flip": "IntField",
    "source_phash": "IntField", "source_phash_flip": "IntField", "source_size": "ListField",
    "embedding": "VectorField", "features": "VectorField",
    "dup_group": "StringField", "dup_kept": "BooleanField", "dup_kept_by": "StringField",
    "human_label": "StringField", "human_reason": "StringField", "labeled_at": "DateTimeField",
    "decision": "StringField", "reasons": "ListField", "added_at": "DateTimeField",
}
SOURCE_FIELDS = {
    "sha256": "StringField", "url": "StringField", "page_url": "StringField",
    "domain": "StringField", "status": "StringField", "error": "StringField",
    "faces": "IntField", "small_faces": "IntField", "crops": "IntField",
}

_cache: dict[str, Any] = {}


def dataset_name(workspace_root: Path | str) -> str:
    """One dataset per workspace, named after its absolute path (one MongoDB can hold many)."""
    root = str(Path(workspace_root).expanduser().resolve())
    return "studio-" + hashlib.sha256(root.encode()).hexdigest()[:12]


def _import_fiftyone(workspace_root: Path):
    """Import fiftyone configured for this workspace's database (env must be set before import).

    FIFTYONE_DATABASE_URI (external MongoDB) or FIFTYONE_DATABASE_DIR set by the user win;
    otherwise the database lives in <workspace>/db, which fixes one workspace per process.
    """
    os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")  # no usage tracking calls
    os.environ.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")  # bundled mongod is "old"
    os.environ.setdefault("FIFTYONE_SHOW_PROGRESS_BARS", "false")
    os.environ.setdefault("FIFTYONE_LOGGING_LEVEL", "WARNING")  # no "Computing uniqueness..." chatter
    chosen = os.environ.get("FIFTYONE_DATABASE_URI") or os.environ.get("FIFTYONE_DATABASE_DIR")
    db_dir = str(workspace_root / "db")
    if "fiftyone" not in sys.modules and not chosen:
        os.environ["FIFTYONE_DATABASE_DIR"] = db_dir
        _default_db.append(db_dir)
    import fiftyone as fo

    if _default_db and _default_db[0] != db_dir:
        raise CurationError(f"this process already uses the database in {_default_db[0]}; "
                            f"open {workspace_root} in a new process")
    return fo


_default_db: list[str] = []  # the <workspace>/db this process chose itself, if any


def _declare(dataset, fields: dict[str, str]) -> None:
    import fiftyone as fo

    schema = dataset.get_field_schema()
    for name, kind in fields.items():
        if name in schema:
            continue
        if kind == "ListField":
            sub = fo.IntField if name in ("bbox", "crop_box", "source_size") else fo.StringField
            dataset.add_sample_field(name, fo.ListField, subfield=sub)
        else:
            dataset.add_sample_field(name, getattr(fo, kind))


def open_catalog(workspace_root: Path | str):
    """The workspace's persistent crop dataset (created with its schema on first use; cached)."""
    root = Path(workspace_root).expanduser().resolve()
    name = dataset_name(root)
    ds = _cache.get(name)
    if ds is not None and not ds.deleted:
        return ds
    (root / ".locks").mkdir(parents=True, exist_ok=True)
    try:
        # Serialises database start-up and dataset creation between processes.
        with FileLock(root / ".locks" / "db-start.lock", timeout=120):
            fo = _import_fiftyone(root)
            if fo.dataset_exists(name):
                ds = fo.load_dataset(name)
            else:
                ds = fo.Dataset(name, persistent=True)
                ds.info["workspace"] = str(root)
                ds.save()
            _declare(ds, CROP_FIELDS)
            sources = (fo.load_dataset(name + "-sources") if fo.dataset_exists(name + "-sources")
                       else fo.Dataset(name + "-sources", persistent=True))
            _declare(sources, SOURCE_FIELDS)
    except Timeout:
        raise CurationError(f"timed out waiting for the catalog database of {root}") from None
    _cache[name] = ds
    _cache[name + "-sources"] = sources
    return ds


def catalog_exists(workspace_root: Path | str) -> bool:
    """Whether this workspace was ever curated (connects to the database, creates nothing)."""
    root = Path(workspace_root).expanduser().resolve()
    if dataset_name(root) in _cache:
        return True
    fo = _import_fiftyone(root)
    return fo.dataset_exists(dataset_name(root))


def open_sources(workspace_root: Path | str):
    """The companion dataset with one sample per processed raw image (status, face counts)."""
    open_catalog(workspace_root)
    return _cache[dataset_name(Path(workspace_root).expanduser().resolve()) + "-sources"]


def domain_of(url: str | None) -> str:
    return (urlparse(url or "").hostname or "unknown").lower()


def sync_app_tags(dataset) -> int:
    """Turn `accept`/`reject` tags set in the FiftyOne App into human labels (humans win)."""
    changed = 0
    for label in LABELS:
        view = dataset.match_tags(label)
        for sample in view.select_fields(["human_label", "human_reason", "labeled_at"]):
            other = "reject" if label == "accept" else "accept"
            if other in sample.tags:
                continue  # contradictory tags: leave it for the human to fix
            if sample.human_label != label:
                sample.human_label = label
                sample.human_reason = sample.human_reason or "app"
                sample.labeled_at = datetime.now(UTC)
                sample.save()
                changed += 1
        view.untag_samples(label)
    return changed


def set_label(dataset, sha256: str, label: str | None, reason: str = "") -> int:
    """Set (or clear, label=None) the human label of every crop with this sha256; returns count.

    The filter rescores at once, so the review queue's order follows each label."""
    if label is not None and label not in LABELS:
        raise CurationError(f"label must be one of {', '.join(LABELS)}, got {label!r}")
    from fiftyone import ViewField as F

    view = dataset.match(F("sha256") == sha256)
    n = view.count()
    if n:
        view.set_field("human_label", label).save()
        view.set_field("human_reason", reason or None).save()
        view.set_field("labeled_at", datetime.now(UTC) if label else None).save()
        from curation.decide import rescore

        rescore(dataset)
    return n


def set_labels(dataset, rows: list[tuple[str, str, str]]) -> None:
    """Apply many (sha256, label, reason) rows at once (one bulk write per field)."""
    from fiftyone import ViewField as F

    by_sha = {sha: (label, reason) for sha, label, reason in rows}
    view = dataset.match(F("sha256").is_in(list(by_sha)))
    shas, ids = view.values(["sha256", "id"])
    now = datetime.now(UTC)
    values = {i: by_sha[s] for i, s in zip(ids, shas, strict=True)}
    view.set_values("human_label", {i: v[0] for i, v in values.items()}, key_field="id")
    view.set_values("human_reason", {i: v[1] or None for i, v in values.items()}, key_field="id")
    view.set_values("labeled_at", dict.fromkeys(values, now), key_field="id")
    from curation.decide import rescore

    rescore(dataset)


def human_labels(dataset) -> list[tuple[str, str, str]]:
    """All human labels as (sha256, label, reason), one per crop hash, sorted by hash."""
    from fiftyone import ViewField as F

    view = dataset.match(F("human_label") != None)  # noqa: E711 (a MongoDB expression)
    shas, labels, reasons = view.values(["sha256", "human_label", "human_reason"])
    return sorted({(s, lab, r or "") for s, lab, r in zip(shas, labels, reasons, strict=True)})


def review_queue(dataset, n: int = 50):
    """Unlabelled crops the filter is least sure about, least certain first."""
    from fiftyone import ViewField as F

    return (dataset.match(F("human_label") == None)  # noqa: E711
            .sort_by("certainty").limit(n))


def duplicate_groups(dataset) -> dict[str, list[dict]]:
    """group id → members (sha256, id, kept, decision, face_px, quality), kept member first."""
    from fiftyone import ViewField as F

    view = dataset.match(F("dup_group") != None)  # noqa: E711
    cols = ["dup_group", "id", "sha256", "dup_kept", "decision", "face_px", "quality", "filepath"]
    groups: dict[str, list[dict]] = {}
    for row in zip(*view.values(cols), strict=True):
        member = dict(zip(cols, row, strict=True))
        groups.setdefault(member.pop("dup_group"), []).append(member)
    for members in groups.values():
        members.sort(key=lambda m: not m["dup_kept"])
    return groups


def set_kept(dataset, group: str, sha256: str) -> None:
    """Keep this member of a duplicate group instead of the automatic choice (a human choice)."""
    from fiftyone import ViewField as F

    view = dataset.match(F("dup_group") == group)
    if not view.match(F("sha256") == sha256).count():
        raise CurationError(f"{sha256} is not in duplicate group {group}")
    ids, shas = view.values(["id", "sha256"])
    view.set_values("dup_kept_by", {i: ("human" if s == sha256 else None)
                                    for i, s in zip(ids, shas, strict=True)}, key_field="id")
    from curation.decide import refresh_decisions

    refresh_decisions(dataset)


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
    detected = Counter(d for d, f in zip(*sources.values(["domain", "faces"]), strict=True) if f)
    failed = Counter(d for d, s in zip(*sources.values(["domain", "status"]), strict=True)
                     if s in ("corrupt", "missing"))
    domains, decisions = ds.values(["domain", "decision"])
    stages = {
        "crawled": Counter(crawled.values()),
        "detected": detected,
        "cropped": Counter(domains),
        "unique": Counter(d for d, k in zip(domains, decisions, strict=True) if k != "duplicate"),
        "accepted": Counter(d for d, k in zip(domains, decisions, strict=True) if k == "accepted"),
    }
    names = sorted(set().union(*stages.values()))
    return {
        **{stage: sum(c.values()) for stage, c in stages.items()},
        "unreadable": sum(failed.values()),
        "per_domain": {d: {stage: c.get(d, 0) for stage, c in stages.items()} for d in names},
    }
