"""Human labels in the catalog: one click, a CSV's worth at once, tags set in the FiftyOne App.
Human labels always win over the filter."""

from __future__ import annotations

from datetime import UTC, datetime

from curation.catalog.schema import LABELS
from curation.errors import CurationError


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
