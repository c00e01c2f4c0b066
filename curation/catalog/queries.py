"""What the pages and commands ask of the catalog: the review queue, duplicate groups, the
App's saved views, the crawled → accepted funnel."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from curation.catalog.connect import open_catalog, open_sources
from curation.errors import CurationError


def domain_of(url: str | None) -> str:
    return (urlparse(url or "").hostname or "unknown").lower()


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
