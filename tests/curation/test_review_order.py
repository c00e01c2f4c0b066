"""The review queue's order covers the kinds of uncertain crops; the filter's accuracy is
stated with its interval and the chance level (pure numpy, no database)."""

from __future__ import annotations

import numpy as np

from curation.review_order import diverse_order
from curation.scoring import accuracy_summary, wilson


def _clusters(rng, sizes, centres, certainty_ranges):
    emb, cert, label = [], [], []
    for k, (n, c, (lo, hi)) in enumerate(zip(sizes, centres, certainty_ranges, strict=True)):
        emb.append(np.asarray(c) + rng.normal(0, 0.05, (n, len(c))))
        cert.append(rng.uniform(lo, hi, n))
        label += [k] * n
    return np.vstack(emb), np.concatenate(cert), np.array(label)


def test_first_clicks_cover_every_uncertain_cluster():
    rng = np.random.default_rng(0)
    # 30 near-copies of one kind are the least certain; two other kinds are almost as unsure.
    emb, cert, label = _clusters(rng, [30, 8, 8, 40], [[0, 0], [5, 0], [0, 5], [5, 5]],
                                 [(0.0, 0.05), (0.06, 0.1), (0.06, 0.1), (0.45, 0.5)])
    plain = np.argsort(cert)[:3]
    assert set(label[plain]) == {0}  # uncertainty alone: three clicks on the same kind
    order = diverse_order(cert, emb, 3)
    assert set(label[order]) == {0, 1, 2}  # one of each uncertain kind
    assert label[order[0]] == 0 and cert[order[0]] == cert.min()  # the least certain first
    full = diverse_order(cert, emb)
    assert sorted(full.tolist()) == list(range(len(cert)))  # a permutation of all candidates


def test_order_degenerate_inputs():
    assert diverse_order(np.array([]), np.zeros((0, 4))).tolist() == []
    same = diverse_order(np.array([0.3, 0.1, 0.2]), np.zeros((3, 2)))  # identical embeddings
    assert same.tolist() == [1, 2, 0]
    assert len(diverse_order(np.array([0.1, 0.2]), np.eye(2), n=10)) == 2


def test_wilson_interval():
    low, high = wilson(10, 10)
    assert abs(low - 0.7225) < 1e-3 and high == 1.0
    low, high = wilson(7, 14)
    assert abs(low - 0.2679) < 1e-3 and abs(high - 0.7321) < 1e-3


def test_fourteen_labels_at_chance_are_not_shown_as_a_verdict():
    model = {"cv_folds": 14, "cv_accuracy": 0.5, "cv_hits": 7,
             "labels": {"accept": 7, "reject": 7}}
    s = accuracy_summary(model)
    assert s["accuracy"] == 0.5 and s["chance"] == 0.5 and not s["beats_chance"]
    assert "not yet distinguishable" in s["text"] and "50%" in s["text"]
    # 13 of 14 right with 12 accepts: the majority rate is 86 %, so still not beating chance.
    lopsided = accuracy_summary({"cv_folds": 14, "cv_accuracy": 13 / 14, "cv_hits": 13,
                                 "labels": {"accept": 12, "reject": 2}})
    assert not lopsided["beats_chance"] and lopsided["low"] < lopsided["chance"]
    good = accuracy_summary({"cv_folds": 60, "cv_accuracy": 58 / 60, "cv_hits": 58,
                             "labels": {"accept": 30, "reject": 30}})
    assert good["beats_chance"] and good["low"] > 0.85
    assert accuracy_summary(None)["accuracy"] is None
