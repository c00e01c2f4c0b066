"""Browse: sort by quality, pollution or date; label a crop from the grid and from its detail
view (undoable); captions rounded and on one line."""

from __future__ import annotations

import pytest

from curation.catalog import open_catalog, set_label
from tests.app.app_helpers import assert_clean, open_page


@pytest.fixture
def catalog(curated_ws, monkeypatch):
    from curation.rescoring import Rescorer

    requests = []
    monkeypatch.setattr(Rescorer, "request", lambda self: requests.append(1))
    ds = open_catalog(curated_ws)
    yield ds, requests
    for sha in {s for s, lab in zip(*ds.values(["sha256", "human_label"]), strict=True) if lab}:
        set_label(ds, sha, None)
    from curation.decide import refresh_decisions

    refresh_decisions(ds)


def shown_ids(at) -> list[str]:
    return [b.key.removeprefix("detail-") for b in at.button if b.key and b.key.startswith("detail-")
            and b.label == "Details"]


def labels(ds) -> dict[str, str]:
    return {i: lab for i, lab in zip(*ds.values(["id", "human_label"]), strict=True) if lab}


@pytest.mark.parametrize(("choice", "field", "reverse"), [
    ("quality: best first", "quality", True), ("quality: worst first", "quality", False),
    ("pollution: highest first", "pollution", True), ("newest first", "added_at", True)])
def test_sort(monkeypatch, curated_ws, catalog, choice, field, reverse):
    ds, _ = catalog
    at = open_page(monkeypatch, curated_ws, "browse.py")
    at.selectbox(key="sort").set_value(choice).run()
    assert_clean(at)
    value = dict(zip(*ds.values(["id", field]), strict=True))
    shown = [value[i] for i in shown_ids(at)]
    assert len(shown) == len(ds)
    assert shown == sorted(shown, reverse=reverse)


def test_captions_are_rounded_and_one_line(monkeypatch, curated_ws, catalog):
    at = open_page(monkeypatch, curated_ws, "browse.py")
    captions = [c for c in at.caption if " · q " in c.value]
    assert captions
    for c in captions:
        decision, q, p = c.value.split(" · ")
        assert len(q.split()[1].split(".")[1]) == 1 and len(p.split()[1].split(".")[1]) == 2
        assert decision in ("accepted", "rejected", "duplicate")


def test_label_from_the_grid_and_undo(monkeypatch, curated_ws, catalog):
    ds, requests = catalog
    at = open_page(monkeypatch, curated_ws, "browse.py")
    first, second = shown_ids(at)[:2]
    at.button(key=f"acc-{first}").click().run()
    assert_clean(at)
    at.button(key=f"rej-{second}").click().run()
    assert labels(ds) == {first: "accept", second: "reject"}
    assert requests  # the filter retrains in the background
    assert at.button(key=f"acc-{first}").disabled  # shown as already accepted
    at.button(key="browse-undo").click().run()
    assert labels(ds) == {first: "accept"}


def test_label_from_the_details_dialog(monkeypatch, curated_ws, catalog):
    ds, _ = catalog
    at = open_page(monkeypatch, curated_ws, "browse.py")
    crop = shown_ids(at)[0]
    at.button(key=f"detail-{crop}").click().run()
    assert_clean(at)
    at.selectbox(key="detail-reason").set_value("mask")
    at.button(key="detail-reject").click().run()
    assert_clean(at)
    assert labels(ds) == {crop: "reject"}
    reasons = dict(zip(*ds.values(["id", "human_reason"]), strict=True))
    assert reasons[crop] == "mask"
