"""Duplicates: why two crops are linked (distances, same source), and what "Keep this" did on a
crop the filter rejects (it cannot be kept; accepting it makes it the kept copy)."""

from __future__ import annotations

import pytest

from curation.catalog import duplicate_groups, duplicate_links, open_catalog, set_label
from curation.rescoring import set_kept
from tests.app.app_helpers import assert_clean, open_page, texts


@pytest.fixture
def catalog(curated_ws, monkeypatch):
    from curation.rescoring import Rescorer

    monkeypatch.setattr(Rescorer, "request", lambda self: None)
    ds = open_catalog(curated_ws)
    groups = duplicate_groups(ds)
    kept = {gid: members[0]["sha256"] for gid, members in groups.items()}
    yield ds
    for sha in {s for s, lab in zip(*ds.values(["sha256", "human_label"]), strict=True) if lab}:
        set_label(ds, sha, None)
    for gid, sha in kept.items():
        set_kept(ds, gid, sha)  # also refreshes every decision
    ds.set_field("dup_kept_by", None).save()
    from curation.decide import refresh_decisions

    refresh_decisions(ds)


def test_links_give_distances_against_the_kept_crop(catalog):
    groups = duplicate_groups(catalog)
    assert groups
    for gid, members in groups.items():
        links = duplicate_links(catalog, gid)
        assert set(links) == {m["sha256"] for m in members[1:]}  # all but the kept one
        for link in links.values():
            assert 0 <= link["phash"] <= 64 and 0 <= link["dhash"] <= 64
            assert link["cosine"] is None or -1e-9 <= link["cosine"] <= 2
            assert isinstance(link["same_source"], bool)


def test_page_says_why_each_crop_is_linked(monkeypatch, curated_ws, catalog):
    at = open_page(monkeypatch, curated_ws, "duplicates.py")
    assert_clean(at)
    body = texts(at)
    assert "pHash" in body and "bits" in body and "embedding" in body
    assert any(w in body for w in ("a near copy", "the same face", "the identical crop",
                                   "linked through another member"))
    assert "of 64 bits *and* their embeddings" in body  # the rule, with this workspace's limits


def test_keep_this_on_a_rejected_crop_says_what_happened(monkeypatch, curated_ws, catalog):
    gid, members = sorted(duplicate_groups(catalog).items())[0]
    kept, other = members[0]["sha256"], members[1]["sha256"]
    set_label(catalog, other, "reject", "mask")
    at = open_page(monkeypatch, curated_ws, "duplicates.py")
    at.button(key=f"keep-{gid}-{other}").click().run()
    assert_clean(at)
    assert duplicate_groups(catalog)[gid][0]["sha256"] == kept  # a rejected crop is not kept
    warning = " ".join(w.value for w in at.warning)
    assert f"`{other[:10]}` was not kept: it is rejected (human:mask)" in warning
    assert f"`{kept[:10]}` stays kept" in warning
    at.button(key=f"accept-keep-{gid}").click().run()
    assert_clean(at)
    assert duplicate_groups(catalog)[gid][0]["sha256"] == other
    assert dict(zip(*catalog.values(["sha256", "human_label"]), strict=True))[other] == "accept"
    assert "is now the kept copy" in texts(at)
