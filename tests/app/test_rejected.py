"""The Rejected page: rejected crops grouped by the rule or reason that rejected each (largest
group first), multi-select, bulk accept / reject through curation's label functions, undo;
and the catalog queries it pages (`rejection_groups`, `rejected_crops`)."""

from __future__ import annotations

from collections import Counter

import pytest

from curation.catalog import open_catalog, rejected_crops, rejection_groups, set_label

# The reasons planted on crops outside duplicate groups: `photo` the largest group, a crop with
# two reasons filed under its first, one like a rejected crop.
PLANTED = [["polluted:photo"]] * 4 + [["blurry", "polluted:cat"]] * 2 + [["like_rejected"]]


def plant(ds, plan: list[list[str]]) -> dict[str, list[str]]:
    """Mark crops rejected with the given reasons, as curation would file them; sha → reasons."""
    from curation.catalog.columns import refresh_in_memory

    shas, groups, labels = ds.values(["sha256", "dup_group", "human_label"])
    free = sorted({s for s, g, lab in zip(shas, groups, labels, strict=True) if not g and not lab})
    assert len(free) >= len(plan), "the curated fixture has too few crops outside groups"
    planted = dict(zip(free, plan, strict=False))
    coll = ds._sample_collection
    for sha, reasons in planted.items():
        coll.update_many({"sha256": sha}, {"$set": {"decision": "rejected", "reasons": reasons}})
    refresh_in_memory(ds, [d["_id"] for d in coll.find({"sha256": {"$in": list(planted)}}, {"_id": 1})])
    return planted


@pytest.fixture
def planted(curated_ws, monkeypatch):
    """The session catalog with PLANTED reasons; labels cleared and decisions recomputed after.

    The background rescore is recorded, not run: it would refile the planted crops mid-test."""
    from curation.catalog.rescore import Rescorer

    requests = []
    monkeypatch.setattr(Rescorer, "request", lambda self: requests.append(1))
    ds = open_catalog(curated_ws)
    shas = plant(ds, PLANTED)
    yield ds, shas, requests
    for sha in {s for s, lab in zip(*ds.values(["sha256", "human_label"]), strict=True) if lab}:
        set_label(ds, sha, None, rescore=False)
    from curation.decide import refresh_decisions

    refresh_decisions(ds)


def first_reasons(ds, labelled: bool = False) -> Counter:
    rows = zip(*ds.values(["decision", "reasons", "human_label"]), strict=True)
    return Counter((reasons or [""])[0] for decision, reasons, label in rows
                   if decision == "rejected" and (labelled or not label))


def test_rejection_groups_count_first_reasons_largest_first(planted):
    ds, shas, _ = planted
    groups = rejection_groups(ds)
    assert dict(groups) == first_reasons(ds)
    assert groups[0] == ("polluted:photo", first_reasons(ds)["polluted:photo"])
    assert [n for _, n in groups] == sorted((n for _, n in groups), reverse=True)
    two = [s for s, r in shas.items() if r[0] == "blurry"]
    assert set(rejected_crops(ds, "blurry").values("sha256")) >= set(two)
    assert "polluted:cat" not in dict(groups) or set(two).isdisjoint(
        rejected_crops(ds, "polluted:cat").values("sha256"))  # filed under the first reason only
    assert rejected_crops(ds).count() == sum(n for _, n in groups)

    one = next(s for s, r in shas.items() if r == ["polluted:photo"])
    set_label(ds, one, "reject", "photo", rescore=False)  # a human's reject: another group
    assert dict(rejection_groups(ds))["polluted:photo"] == first_reasons(ds)["polluted:photo"]
    assert one not in rejected_crops(ds, "polluted:photo").values("sha256")
    assert dict(rejection_groups(ds, labelled=True)).get("human:photo") == 1
    assert one in rejected_crops(ds, "human:photo", labelled=True).values("sha256")
    domain = ds.values("domain")[0]
    assert sum(n for _, n in rejection_groups(ds, domain=domain)) == \
        rejected_crops(ds, domain=domain).count()
