"""Decisions and scores from plain columns (no database), and the catalog's typed record."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from curation import evidence, filter_model
from curation.decide import decide
from curation.scoring import filter_kind, score


def _columns(n: int, **override):
    cols = dict(human=[None] * n, human_reason=[None] * n, quality_reasons=[[] for _ in range(n)],
                pollution=[0.1] * n, group=[None] * n, kept_by=[None] * n, face_px=[100] * n,
                quality=[0.5] * n)
    cols.update(override)
    return cols


def test_humans_win_and_the_threshold_rejects_pollution():
    cols = _columns(4, human=["reject", "accept", None, None], human_reason=["mask", None, None, None],
                    pollution=[0.0, 0.99, 0.7, 0.2], quality_reasons=[[], ["blurry"], [], []])
    decision, reasons, _ = decide(**cols, threshold=0.5)
    assert decision == ["rejected", "accepted", "rejected", "accepted"]
    assert reasons == [["human:mask"], [], ["polluted"], []]
    cause = decide(**cols, threshold=0.5, cause=[None, None, "photo", None])[1]
    assert cause[2] == ["polluted:photo"]  # the reason names what weighed most
    assert decide(**cols, threshold=0.8)[0][2] == "accepted"  # the threshold is the caller's


def test_a_duplicate_group_keeps_its_best_eligible_member_and_follows_a_human_reject():
    cols = _columns(3, group=["g", "g", "g"], face_px=[50, 200, 120], quality_reasons=[[], ["small"], []])
    decision, reasons, kept = decide(**cols, threshold=0.5)
    assert decision == ["duplicate", "rejected", "accepted"] and kept == [False, False, True]
    assert reasons[0] == ["duplicate"]
    cols["human"] = [None, None, "reject"]
    decision, reasons, _ = decide(**cols, threshold=0.5)
    assert decision == ["rejected"] * 3 and "like_rejected" in reasons[0]
    cols["human"], cols["kept_by"] = [None] * 3, ["human", None, None]  # a human's pick wins
    assert decide(**cols, threshold=0.5)[2] == [True, False, False]


def _crops(n: int, rng):
    """Crops whose first 60 features separate them: pollution has them high."""
    bad = np.arange(n) % 3 == 0
    features = rng.normal(size=(n, filter_model.FEATURE_LENGTH)).astype(np.float32)
    features[:, :60] += np.where(bad, 1.5, -1.5)[:, None]  # one style block tells them apart
    rule = np.full(n, 0.3)
    return bad, features, rule


def test_the_filter_grows_from_rules_to_few_labels_to_logistic():
    rng = np.random.default_rng(0)
    n = 300
    bad, features, rule = _crops(n, rng)
    shas = [f"{k:064x}" for k in range(n)]
    prior = np.zeros((n, len(filter_model.SIGNALS)))  # no rule fired
    lift = evidence.logit(rule) - evidence.logit(0.05)  # the atypicality lift makes it 0.3
    zeros = [0.0] * n
    reads = []

    def run(labels, previous=None):
        return score(shas, labels, prior, lift, lambda: reads.append("f") or list(features),
                     lambda unlabelled: reads.append("x") or filter_model.design_matrix(
                         list(features), zeros, zeros, list(unlabelled)),
                     previous, threshold=0.5)

    labels: list[str | None] = [None] * n
    model, p = run(labels)
    assert model is None and np.allclose(p, 0.3) and reads == []  # the rules read nothing more
    for k in range(6):
        labels[k] = "reject" if bad[k] else "accept"
    assert filter_kind(labels) == "few-label"
    model, p = run(labels)
    assert model["kind"] == "few-label" and set(reads) == {"f"}
    assert p[bad].mean() > p[~bad].mean()  # six labels already point the right way
    again, _ = run(labels, previous={**model, "trained_at": "earlier"})
    assert again["trained_at"] == "earlier"  # same labels: not retrained in the record
    for k in range(60):
        labels[k] = "reject" if bad[k] else "accept"
    assert filter_kind(labels) == "logistic"
    reads.clear()
    model, p = run(labels)
    assert model["kind"] == "logistic" and reads == ["x"]  # the design matrix alone
    assert ((p >= 0.5) == bad).mean() > 0.95
    kept, _ = run(labels, previous=model)
    assert kept is model  # the same labels reuse the trained filter


def test_the_catalog_record_round_trips_and_drops_the_legacy_key(fiftyone_db):
    from curation.catalog import CatalogInfo, update_info

    fo = fiftyone_db
    ds = fo.Dataset()
    try:
        assert CatalogInfo.load(ds) == CatalogInfo()  # an empty record: the defaults
        assert CatalogInfo.load(ds).pollution_threshold == 0.5  # = CurateConfig's default
        ds.info["workspace"] = "/old/place"  # as catalogs from before workspace ids have it
        ds.save()
        assert CatalogInfo.load(ds).root == "/old/place"
        at = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
        update_info(ds, root="/new/place", scored_at=at, pollution_threshold=0.7)
        again = fo.load_dataset(ds.name)
        again.reload()
        assert CatalogInfo.load(again) == CatalogInfo("/new/place", 0.7, None, at)
        assert "workspace" not in again.info
        assert not CatalogInfo.load(again).save(again)  # nothing changed: nothing written
        update_info(again, pollution_filter={"kind": "few-label"})
        update_info(again, pollution_filter=None)  # the last label undone: no filter any more
        again.reload()
        assert CatalogInfo.load(again).pollution_filter is None and "pollution_filter" not in again.info
    finally:
        ds.delete()
