"""A label click as the Label page makes it: the label and its decision written at once, the
rescoring left to the background rescorer, and the staleness of the scores reported honestly."""

from __future__ import annotations

import time

import pytest
from filelock import FileLock


@pytest.fixture
def ds(curated):
    from curation.catalog import open_catalog

    ds = open_catalog(curated["root"])
    yield ds
    for sha in {s for s, lab in zip(*ds.values(["sha256", "human_label"]), strict=True) if lab}:
        from curation.catalog import set_label

        set_label(ds, sha, None)
    from curation.rescoring import rescore_now

    rescore_now(ds)


def _row(ds, sha):
    from fiftyone import ViewField as F

    view = ds.match(F("sha256") == sha)
    return dict(zip(["decision", "tags", "human_label", "reasons"],
                    [v[0] for v in view.values(["decision", "tags", "human_label", "reasons"])],
                    strict=True))


def test_a_click_settles_its_crop_at_once_and_leaves_the_rest_to_the_rescorer(ds, curated):
    from curation.catalog import set_label
    from curation.rescoring import Rescorer, rescore_now, scoring_state

    rescore_now(ds)
    before = dict(zip(*ds.values(["id", "pollution"]), strict=True))
    accepted = [s for s, d in zip(*ds.values(["sha256", "decision"]), strict=True)
                if d == "accepted"]
    sha = accepted[0]
    assert set_label(ds, sha, "reject", "mask") >= 1
    row = _row(ds, sha)
    assert row["decision"] == "rejected" and row["reasons"] == ["human:mask"]
    assert "rejected" in row["tags"] and "accepted" not in row["tags"]
    assert dict(zip(*ds.values(["id", "pollution"]), strict=True)) == before  # nothing rescored
    state = scoring_state(ds)
    assert state.stale and state.labels_since == 1

    rescorer = Rescorer(ds, curated["root"], debounce=0.2)
    rescorer.request()
    assert rescorer.busy
    assert rescorer.wait_idle(120) and rescorer.error is None
    state = scoring_state(ds, rescorer)
    assert not state.stale and state.scored_at is not None
    assert _row(ds, sha)["decision"] == "rejected"  # the rescore keeps the human's word


def test_an_accept_of_a_copy_kept_elsewhere_stays_a_duplicate(ds):
    from curation.catalog import duplicate_groups, set_label

    group = next(iter(duplicate_groups(ds).values()))
    copy = next(m for m in group if not m["dup_kept"])
    set_label(ds, copy["sha256"], "accept")
    assert _row(ds, copy["sha256"])["decision"] == "duplicate"


def test_rescorer_waits_while_curate_holds_the_catalog(ds, curated, monkeypatch):
    from curation import rescoring as rescore_module
    from curation.catalog import set_label

    monkeypatch.setattr(rescore_module, "BUSY_RETRY_SECONDS", 0.3)
    rescorer = rescore_module.Rescorer(ds, curated["root"], debounce=0.1)
    lock = FileLock(curated["root"] / ".locks" / "catalog.lock")
    with lock:
        set_label(ds, ds.first().sha256, "accept")
        rescorer.request()
        time.sleep(1.0)
        assert rescore_module.scoring_state(ds).stale  # not rescored under curate's lock
        assert rescorer.busy  # still due: it will retry
    assert rescorer.wait_idle(120)
    assert not rescore_module.scoring_state(ds).stale


def test_review_queue_moves_on_after_a_click(ds):
    from curation.catalog import review_queue, set_label

    first = review_queue(ds, 5).values("sha256")
    assert len(first) == min(5, len(ds)) and len(set(first)) == len(first)
    set_label(ds, first[0], "accept")
    after = review_queue(ds, 5).values("sha256")
    assert first[0] not in after and all(lab is None for lab in
                                         review_queue(ds, 5).values("human_label"))


def test_a_rescore_reads_the_catalogs_record_once(ds, monkeypatch):
    """The record is read once and passed down (update_pollution(..., info=)); its writes
    (`update_info`) merge into the current record, so a rule switched meanwhile is kept."""
    import sys

    from curation.catalog.info import CatalogInfo
    from curation.rescoring import rescore_now

    reads: list[str] = []
    load = CatalogInfo.load.__func__

    def counted(cls, dataset):
        reads.append(sys._getframe(1).f_code.co_name)
        return load(cls, dataset)

    monkeypatch.setattr(CatalogInfo, "load", classmethod(counted))
    rescore_now(ds)
    assert [r for r in reads if r != "update_info"] == ["rescore"]
