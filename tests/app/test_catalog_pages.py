"""Overview funnel, Browse, Label and Duplicates against a real curated FiftyOne catalog."""

from __future__ import annotations

import pytest

from curation.catalog import duplicate_groups, open_catalog
from curation.rescoring import set_kept, set_label
from tests.app.app_helpers import assert_clean, open_page, texts


@pytest.fixture
def catalog(curated_ws):
    ds = open_catalog(curated_ws)
    yield ds
    for sha in set(ds.values("sha256")):  # leave the session catalog as the fixture made it
        set_label(ds, sha, None)


def test_overview_funnel_and_pollution_per_domain(monkeypatch, curated_ws, catalog):
    at = open_page(monkeypatch, curated_ws)
    assert_clean(at)
    table = next(d.value for d in at.dataframe if "pollution_rate" in d.value)
    assert {"faces.example", "cats.example", "nasa.example"} <= set(table["domain"])
    assert table["crawled"].sum() == 14
    assert ((table["pollution_rate"] >= 0) & (table["pollution_rate"] <= 1)).all()


def test_browse_paginates_and_filters(monkeypatch, curated_ws, catalog):
    at = open_page(monkeypatch, curated_ws, "browse.py")
    assert_clean(at)
    total = len(catalog)
    assert f"{total} of {total} crops" in texts(at)
    shown = sum(len(img.value) for img in at.image)
    assert shown == min(total, 24)
    at.selectbox(key="f-domain").set_value("nasa.example").run()
    assert_clean(at)
    nasa = catalog.values("domain").count("nasa.example")
    assert f"{nasa} of {total} crops" in texts(at)
    at.selectbox(key="f-domain").set_value("all")
    at.text_input(key="f-group").set_value("any").run()
    in_groups = sum(len(m) for m in duplicate_groups(catalog).values())
    assert f"{in_groups} of {total} crops" in texts(at)


def test_browse_detail_shows_source_and_scores(monkeypatch, curated_ws, catalog):
    at = open_page(monkeypatch, curated_ws, "browse.py")
    next(b for b in at.button if b.label == "Details").click().run()
    assert_clean(at)
    assert any("Source image" in c for img in at.image for c in img.captions)
    assert "Page: https://" in texts(at)


def test_label_accept_reject_and_undo_write_the_catalog(monkeypatch, curated_ws, catalog):
    at = open_page(monkeypatch, curated_ws, "label.py")
    assert_clean(at)
    labelled = lambda: {s: lab for s, lab in zip(*catalog.values(["sha256", "human_label"]), strict=True) if lab}  # noqa: E731
    assert labelled() == {}
    at.button(key="accept").click().run()
    assert_clean(at)
    first = labelled()
    assert list(first.values()) == ["accept"]
    at.button(key="reject-cat").click().run()
    second = labelled()
    assert len(second) == 2 and sorted(second.values()) == ["accept", "reject"]
    rejected = next(s for s, lab in second.items() if lab == "reject")
    assert catalog.match_tags("rejected").count() >= 1
    reasons = dict(zip(*catalog.values(["sha256", "human_reason"]), strict=True))
    assert reasons[rejected] == "cat"
    assert [m.value for m in at.metric if m.label == "Labelled"] == ["2"]
    next(b for b in at.button if b.label == "Undo").click().run()
    assert labelled() == first  # the reject is undone, the accept stays
    next(b for b in at.button if b.label == "Undo").click().run()
    assert labelled() == {}


def test_label_bulk_reject(monkeypatch, curated_ws, catalog):
    at = open_page(monkeypatch, curated_ws, "label.py")
    boxes = [c for c in at.checkbox if c.key and c.key.startswith("pick-")][:2]
    for box in boxes:
        box.check()
    at.run()
    at.button(key="bulk-reject").click().run()
    assert_clean(at)
    labels = [lab for lab in catalog.values("human_label") if lab]
    assert labels.count("reject") >= 2


def test_duplicates_change_the_kept_crop(monkeypatch, curated_ws, catalog):
    groups = duplicate_groups(catalog)
    gid, members = sorted(groups.items())[0]
    at = open_page(monkeypatch, curated_ws, "duplicates.py")
    assert_clean(at)
    assert "kept" in texts(at)
    other = members[1]["sha256"]
    try:
        at.button(key=f"keep-{gid}-{other}").click().run()
        assert_clean(at)
        assert duplicate_groups(catalog)[gid][0]["sha256"] == other
    finally:
        set_kept(catalog, gid, members[0]["sha256"])
