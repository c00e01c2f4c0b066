"""The Rejected page: rejected crops grouped by the rule or reason that rejected each (largest
group first), multi-select, bulk accept / reject through curation's label functions, undo;
and the catalog queries it pages (`rejection_groups`, `rejected_crops`)."""

from __future__ import annotations

from collections import Counter

import pytest

from curation.catalog import open_catalog, rejected_crops, rejection_groups, set_label
from tests.app.app_helpers import assert_clean, open_page, texts

# The reasons planted on crops outside duplicate groups: `photo` the largest group, a crop with
# two reasons filed under its first, one like a rejected crop.
PLANTED = [["polluted:photo"]] * 4 + [["blurry", "polluted:cat"]] * 2 + [["like_rejected"]]


def plant(ds, plan: list[list[str]], grouped: bool = False) -> dict[str, list[str]]:
    """Mark unlabelled crops (outside duplicate groups unless `grouped`) rejected with the given
    reasons, as curation would file them; sha → reasons."""
    from curation.catalog.columns import write_columns

    ids, shas, groups, labels = ds.values(["id", "sha256", "dup_group", "human_label"])
    free = sorted({s for s, g, lab in zip(shas, groups, labels, strict=True)
                   if (grouped or not g) and not lab})
    assert len(free) >= len(plan), "the curated fixture has too few crops outside groups"
    planted = dict(zip(free, plan, strict=False))
    rows = [(i, planted[s]) for i, s in zip(ids, shas, strict=True) if s in planted]
    write_columns(ds, [i for i, _ in rows], {"decision": ["rejected"] * len(rows),
                                             "reasons": [reasons for _, reasons in rows]})
    return planted


@pytest.fixture
def planted(curated_ws, monkeypatch):
    """The session catalog with PLANTED reasons; labels cleared and decisions recomputed after.

    The background rescore is recorded, not run: it would refile the planted crops mid-test."""
    from curation.rescoring import Rescorer

    requests = []
    monkeypatch.setattr(Rescorer, "request", lambda self: requests.append(1))
    ds = open_catalog(curated_ws)
    shas = plant(ds, PLANTED)
    yield ds, shas, requests
    for sha in {s for s, lab in zip(*ds.values(["sha256", "human_label"]), strict=True) if lab}:
        set_label(ds, sha, None)
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
    set_label(ds, one, "reject", "photo")  # a human's reject: another group
    assert dict(rejection_groups(ds))["polluted:photo"] == first_reasons(ds)["polluted:photo"]
    assert one not in rejected_crops(ds, "polluted:photo").values("sha256")
    assert dict(rejection_groups(ds, labelled=True)).get("human:photo") == 1
    assert one in rejected_crops(ds, "human:photo", labelled=True).values("sha256")
    domain = ds.values("domain")[0]
    assert sum(n for _, n in rejection_groups(ds, domain=domain)) == \
        rejected_crops(ds, domain=domain).count()


def tick_boxes(at) -> dict[str, object]:
    """The tiles' tick boxes by crop hash (keys rj-<generation>-<sha256>)."""
    return {c.key.rsplit("-", 1)[1]: c for c in at.checkbox if c.key and c.key.startswith("rj-")
            and c.key.count("-") == 2}


def labels_of(ds) -> dict[str, tuple[str | None, str | None, str]]:
    rows = zip(*ds.values(["sha256", "human_label", "human_reason", "decision"]), strict=True)
    return {s: (lab, reason, decision) for s, lab, reason, decision in rows}


def test_groups_largest_first_with_rule_names(monkeypatch, curated_ws, planted):
    ds, shas, _ = planted
    at = open_page(monkeypatch, curated_ws, "rejected.py")
    assert_clean(at)
    headers = [h.value for h in at.subheader]
    expected = [f"{'photo' if r == 'polluted:photo' else r} — {n} crop{'s' if n > 1 else ''}"
                for r, n in rejection_groups(ds)]
    # Groups of one size may come in either order among themselves; "polluted:" is dropped.
    assert headers[0] == f"photo — {first_reasons(ds)['polluted:photo']} crops"
    assert sorted(headers) == sorted(h.replace("polluted:", "") for h in expected)
    assert "quality: too blurry" in texts(at)  # what the reason means
    boxes = tick_boxes(at)
    assert set(shas) <= set(boxes)  # every planted crop has a tile (one page holds them all)


def test_bulk_accept_labels_and_files_the_crops_at_once(monkeypatch, curated_ws, planted):
    ds, shas, requests = planted
    at = open_page(monkeypatch, curated_ws, "rejected.py")
    photo = sorted(s for s, r in shas.items() if r == ["polluted:photo"])
    boxes = tick_boxes(at)
    for sha in photo[:2]:
        boxes[sha].check().run()
    assert_clean(at)
    assert at.button(key="rj-accept").label == "Accept 2"
    at.button(key="rj-accept").click().run()
    assert_clean(at)
    after = labels_of(ds)
    for sha in photo[:2]:
        assert after[sha][0] == "accept" and after[sha][2] == "accepted"
    for sha in photo[2:]:  # the rest of the group untouched
        assert after[sha][0] is None and after[sha][2] == "rejected"
    assert requests, "the filter's retraining is left to the background rescorer"
    assert f"photo — {len(photo) - 2} crops" in [h.value for h in at.subheader]
    assert "Accepted 2 crop(s) (photo × 2)" in texts(at)
    assert not any(c.value for c in tick_boxes(at).values())  # the selection is cleared

    at.button(key="rj-undo").click().run()  # undo clears the labels again
    assert_clean(at)
    assert all(labels_of(ds)[sha][0] is None for sha in photo[:2])


def test_select_all_of_a_group_and_reject_with_the_rules_name(monkeypatch, curated_ws, planted):
    ds, _, _ = planted
    at = open_page(monkeypatch, curated_ws, "rejected.py")
    n_blurry = first_reasons(ds)["blurry"]
    at.button(key="rj-all-blurry").click().run()
    assert_clean(at)
    ticked = {s for s, c in tick_boxes(at).items() if c.value}
    assert ticked == set(rejected_crops(ds, "blurry").values("sha256"))
    assert at.button(key="rj-reject").label == f"Reject {n_blurry}"
    assert at.button(key="rj-none-blurry")  # the group's button now unselects
    at.button(key="rj-reject").click().run()
    assert_clean(at)
    after = labels_of(ds)
    assert all(after[s][:2] == ("reject", "blurry") for s in ticked)
    assert "blurry" not in dict(rejection_groups(ds))  # confirmed: out of the rescue list
    assert not any(h.value.startswith("blurry") for h in at.subheader)
    at.toggle(key="rj-labelled").set_value(True).run()  # ...and shown as a human's reject
    assert any(h.value == f"you rejected: blurry — {n_blurry} crops" for h in at.subheader)


def test_a_large_group_pages_and_select_all_spans_its_pages(monkeypatch, curated_ws, planted):
    ds, _, _ = planted
    everything = plant(ds, [["polluted:photo"]] * len(ds), grouped=True)
    n = len(everything)
    assert n > 8, "the curated fixture has too few crops for two pages"
    at = open_page(monkeypatch, curated_ws, "rejected.py")
    at.selectbox(key="rj-size").set_value(8).run()
    assert [h.value for h in at.subheader] == [f"photo — {n} crops"]
    first = {s for s in tick_boxes(at)}
    assert len(first) == 8
    at.number_input(key="rj-page-polluted:photo").set_value(2).run()
    assert_clean(at)
    second = set(tick_boxes(at))
    assert len(second) == n - 8 and not first & second
    at.button(key="rj-all-polluted:photo").click().run()
    assert at.button(key="rj-accept").label == f"Accept {n}"  # the pages not shown too
    at.button(key="rj-accept").click().run()
    assert_clean(at)
    assert all(lab == "accept" for lab, _, _ in labels_of(ds).values())
    assert "No crop is rejected" in texts(at)


def test_the_page_says_what_the_relearned_filter_did(monkeypatch, curated_ws):
    """With the real background rescorer: after a bulk accept the page says the filter is
    relearning, and once it has, how many more crops left the rejected (here the planted
    reasons are refiled by the rescore, as curation decides them)."""
    import time

    from curation.decide import refresh_decisions

    ds = open_catalog(curated_ws)
    shas = plant(ds, PLANTED)
    try:
        at = open_page(monkeypatch, curated_ws, "rejected.py")
        photo = sorted(s for s, r in shas.items() if r == ["polluted:photo"])
        tick_boxes(at)[photo[0]].check().run()
        at.button(key="rj-accept").click().run()
        assert_clean(at)
        assert "The filter is relearning from your last" in texts(at)
        from app.catalog_view import rescorer
        from studio.workspace import Workspace

        assert rescorer(Workspace.at(curated_ws)).wait_idle(120)
        time.sleep(0.2)
        before = first_reasons(ds)
        at.run()
        assert_clean(at)
        assert "The filter is relearning" not in texts(at)
        assert "The filter relearned from your labels: " in texts(at)
        assert sum(before.values()) == sum(n for _, n in rejection_groups(ds))
    finally:
        for sha in {s for s, lab in zip(*ds.values(["sha256", "human_label"]), strict=True) if lab}:
            set_label(ds, sha, None)
        from curation.rescoring import rescore_now

        rescore_now(ds)
        refresh_decisions(ds)
