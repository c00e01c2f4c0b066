"""The unlabelled evidence: a rule cannot veto a whole style, a user can switch a rule off for
a source, and atypicality finds what the gallery's crowd is not (plain columns, no database)."""

from __future__ import annotations

import numpy as np

from curation import evidence
from curation.pollution import SIGNALS

PHOTO = SIGNALS.index("photo")


def _signals(fired_rows: list[int], n: int, rule: int = PHOTO) -> np.ndarray:
    s = np.zeros((n, len(SIGNALS)), bool)
    s[fired_rows, rule] = True
    return s


def test_a_rule_that_fires_on_most_of_a_source_cannot_reject_it():
    # example.org: shaded CG art the photo rule misreads (150 of 200); other.org: 5 of 100.
    signals = np.vstack([_signals(list(range(150)), 200), _signals([0, 1, 2, 3, 4], 100)])
    domains = ["example.org"] * 200 + ["other.org"] * 100
    prior, stats = evidence.calibrate(signals, domains)
    p = evidence.unlabelled_pollution(prior, np.zeros(300))
    assert (p[:150] < 0.5).all()  # the style is kept
    assert (p[200:205] >= 0.5).all()  # where the rule is rare it still weighs in full
    by = {(s.domain, s.rule): s for s in stats}
    assert by["example.org", "photo"].suspect and by["example.org", "photo"].fired == 150
    assert not by["other.org", "photo"].suspect


def test_a_rule_switched_off_for_a_source_weighs_nothing_there():
    signals = np.vstack([_signals([0, 1], 50), _signals([0, 1], 50)])
    domains = ["a.example"] * 50 + ["b.example"] * 50
    prior, stats = evidence.calibrate(signals, domains, {"a.example": ["photo"]})
    p = evidence.unlabelled_pollution(prior, np.zeros(100))
    assert p[0] == p[2] < 0.1 and p[50] > 0.5
    assert {(s.domain, s.off) for s in stats} == {("a.example", True), ("b.example", False)}


def test_small_sources_are_calibrated_with_the_whole_workspace():
    # a 5-crop source where the rule fired on 1 (20 %) is not suspect in a workspace where it is rare
    signals = np.vstack([_signals([0], 5), _signals([], 195)])
    prior, stats = evidence.calibrate(signals, ["tiny.example"] * 5 + ["big.example"] * 195)
    assert prior[0, PHOTO] == 0.6 and not stats[0].suspect


def test_atypical_crops_stand_out_and_typical_ones_lean_clean():
    rng = np.random.default_rng(0)
    crowd = rng.normal(size=(300, 8))
    odd = rng.normal(size=(12, 8)) * 0.5 + 6  # a dozen crops unlike the rest
    score = evidence.atypicality(np.vstack([crowd, odd]))
    assert score[300:].min() > 3 > np.percentile(score[:300], 90)
    lift = evidence.atypical_lift(score)
    assert lift[300:].min() > 1 and np.median(lift[:300]) < 0


def test_atypicality_says_nothing_about_too_few_crops():
    score = evidence.atypicality(np.random.default_rng(1).normal(size=(10, 4)))
    assert np.isnan(score).all() and not evidence.atypical_lift(score).any()


def test_atypicality_at_scale_uses_a_reference_sample():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(12_000, 16))
    z[:20] += 8
    score = evidence.atypicality(z, sample=2000)
    assert score[:20].min() > 3 and abs(np.median(score[20:])) < 0.2


def test_the_cause_names_what_weighed_most():
    prior = np.zeros((3, len(SIGNALS)))
    prior[0, PHOTO] = 0.6
    prior[1, PHOTO] = 0.2
    cause = evidence.main_cause(prior, np.array([0.0, 5.0, 0.0]), learned=np.array([0.0, 0.0, 4.0]))
    assert cause == ["photo", "atypical", "filter"]


def test_a_tiny_workspace_is_not_calibrated():
    prior, stats = evidence.calibrate(_signals([0], 1), ["one.example"])
    assert prior[0, PHOTO] == 0.6 and not stats[0].suspect  # one crop, one hit: no evidence of a style
