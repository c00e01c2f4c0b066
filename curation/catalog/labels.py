"""Human labels in the catalog: one click, a CSV's worth at once, tags set in the FiftyOne App.
Human labels always win over the filter.

Every label write waits for MongoDB's journal (write concern j=True, whatever the URI says):
when a click or an import returns, its labels survive a kill -9 of the database. (The URI of the
workspace's own database says `journal=true` too, for the writes FiftyOne itself makes.)"""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo import WriteConcern

from curation.catalog.columns import refresh_in_memory, samples
from curation.catalog.schema import DECISIONS, LABELS
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

    One indexed update, whatever the catalog's size: the label, and the decision that a human
    label settles at once (a reject is rejected; an accept is accepted unless it is a copy kept
    elsewhere). The filter's rescoring of everything else is the caller's: `curation.rescoring`
    (`set_label` there rescores before it returns; the Label page leaves it to a `Rescorer`, off
    the click path)."""
    if label is not None and label not in LABELS:
        raise CurationError(f"label must be one of {', '.join(LABELS)}, got {label!r}")
    ids = _ids_of(dataset, [sha256])
    if ids:
        _write_labels(dataset, ids, label, reason)
    return len(ids)


def set_labels(dataset, rows: list[tuple[str, str, str]]) -> None:
    """Apply many (sha256, label, reason) rows at once (one bulk write per distinct label); the
    rescoring is the caller's, as with `set_label`."""
    by_label: dict[tuple[str, str], list[str]] = {}
    for sha, label, reason in rows:
        if label not in LABELS:
            raise CurationError(f"label must be one of {', '.join(LABELS)}, got {label!r}")
        by_label.setdefault((label, reason or ""), []).append(sha)
    for (label, reason), shas in by_label.items():
        for start in range(0, len(shas), 10_000):
            ids = _ids_of(dataset, shas[start:start + 10_000])
            if ids:
                _write_labels(dataset, ids, label, reason)


def labels_missing(dataset, rows: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The (sha256, label, reason) rows not (or not wholly) in the catalog yet: some crop of
    that hash has another label or reason. A hash the catalog does not hold is not missing.
    Indexed on sha256: a few queries for a CSV's worth of rows."""
    by_label: dict[tuple[str, str], list[str]] = {}
    for sha, label, reason in rows:
        by_label.setdefault((label, reason or ""), []).append(sha)
    coll = samples(dataset)
    missing: set[tuple[str, str, str]] = set()
    for (label, reason), shas in by_label.items():
        for start in range(0, len(shas), 10_000):
            query = {"sha256": {"$in": shas[start:start + 10_000]},
                     "$or": [{"human_label": {"$ne": label}},
                             {"human_reason": {"$ne": reason or None}}]}
            missing.update((d["sha256"], label, reason) for d in coll.find(query, {"sha256": 1}))
    return [row for row in rows if (row[0], row[1], row[2] or "") in missing]


def journaled(coll):
    """`coll` whose writes are acknowledged once in MongoDB's journal (j=True), keeping the
    rest of its write concern (w=majority on a replica set stays; w=0 would refuse j)."""
    concern = {k: v for k, v in coll.write_concern.document.items() if (k, v) != ("w", 0)}
    return coll.with_options(write_concern=WriteConcern(**{**concern, "j": True}))


def _ids_of(dataset, shas: list[str]) -> list:
    """Object ids of the crops with these hashes (sha256 is indexed: see connect.INDEXES)."""
    coll = samples(dataset)
    return [d["_id"] for d in coll.find({"sha256": {"$in": shas}}, {"_id": 1})]


def _write_labels(dataset, ids: list, label: str | None, reason: str) -> None:
    """The label and the decision it settles, in one update (an update pipeline, so the tags
    and a kept-elsewhere copy are handled by the database without reading the crops)."""
    now = datetime.now(UTC)
    # labeled_at is when the label last changed (also a clear), so "labels since the last
    # rescore" is one indexed count.
    fields: dict = {"human_label": label, "human_reason": reason or None, "labeled_at": now,
                    "last_modified_at": now}
    if label == "reject":
        fields.update(decision="rejected", reasons=[f"human:{reason or 'reject'}"])
    elif label == "accept":
        copy = {"$and": [{"$ne": [{"$ifNull": ["$dup_group", None]}, None]},
                         {"$ne": ["$dup_kept", True]}]}
        fields.update(decision={"$cond": [copy, "duplicate", "accepted"]},
                      reasons={"$cond": [copy, ["duplicate"], []]})
    stages = [{"$set": {k: {"$literal": v} if not isinstance(v, dict) else v
                        for k, v in fields.items()}}]
    if label is not None:
        stages.append({"$set": {"tags": {"$concatArrays": [
            {"$setDifference": [{"$ifNull": ["$tags", []]}, list(DECISIONS)]}, ["$decision"]]}}})
    journaled(samples(dataset)).update_many({"_id": {"$in": ids}}, stages)
    refresh_in_memory(dataset, ids)


def labelled_count(dataset) -> int:
    """Crops a human labelled (accept or reject): one indexed count."""
    return samples(dataset).count_documents({"human_label": {"$ne": None}})


def labels_since(dataset, at: datetime | None) -> int:
    """Labels given or changed (cleared too) after `at` (None: ever): one indexed count, e.g.
    how many labels the shown scores do not yet reflect."""
    query = {"labeled_at": {"$gt": at.replace(tzinfo=None)}} if at else {"labeled_at": {"$ne": None}}
    return samples(dataset).count_documents(query)


def human_labels(dataset) -> list[tuple[str, str, str]]:
    """All human labels as (sha256, label, reason), one per crop hash, sorted by hash."""
    from fiftyone import ViewField as F

    view = dataset.match(F("human_label") != None)  # noqa: E711 (a MongoDB expression)
    shas, labels, reasons = view.values(["sha256", "human_label", "human_reason"])
    return sorted({(s, lab, r or "") for s, lab, r in zip(shas, labels, reasons, strict=True)})
