"""Labels that generalise (real crops, the filter as scoring runs it): a few rejects of one kind
of pollution catch the unlabelled crops of that kind; a few accepts on a rule's victims rescue
its other victims."""

from __future__ import annotations

import numpy as np

from curation.evidence import unlabelled_pollution
from curation.features import filter_features
from curation.filter_model import few_label
from curation.pollution import SIGNALS
from curation.quality import quality_scores
from tests.fixtures import anime_scenes as an
from tests.fixtures import face_scenes as fs


def _drawn(n: int, seed: int) -> list[np.ndarray]:
    """Anime-like faces on flat backgrounds, cropped as curate crops them (face in the middle)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        face = an.drawn_face(rng, 84)
        bg = np.full((128, 128, 3), rng.integers(150, 255, 3), np.uint8)
        out.append(an.composite(bg, face, 22, 22))
    return out


def _masked_photos(n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    faces = [fs.mask_face(fs.colour_face(fs.lfw()[i], 84, rng)) for i in range(n)]
    return [np.pad(f, ((22, 22), (22, 22), (0, 0)), mode="edge") for f in faces]


def _features(crops: list[np.ndarray]) -> np.ndarray:
    return np.stack([filter_features(c, quality_scores(c)) for c in crops])


def test_rejects_of_one_kind_catch_its_unlabelled_crops():
    crops = _drawn(60, 0) + _masked_photos(16, 1)
    x = _features(crops)
    n = len(crops)
    prior, lift = np.zeros((n, len(SIGNALS))), np.zeros(n)  # no rule saw the masks
    labelled = np.r_[0:10, 60:64]  # ten faces accepted, four masked photos rejected
    y = np.r_[np.zeros(10, int), np.ones(4, int)]
    _, p = few_label(x, prior, lift, labelled, y)
    unlabelled_masks, unlabelled_faces = p[64:], p[10:60]
    assert (unlabelled_masks >= 0.5).mean() >= 0.8  # the aim: at most 20 % slip through
    assert unlabelled_faces.max() < 0.5  # and no face is lost for it


def test_accepts_on_a_rules_victims_rescue_its_other_victims():
    crops = _drawn(80, 2)
    x = _features(crops)
    n = len(crops)
    prior = np.zeros((n, len(SIGNALS)))
    prior[:10, SIGNALS.index("photo")] = 0.6  # the rule misreads ten faces, at full weight
    lift = np.zeros(n)
    before = unlabelled_pollution(prior, lift)
    assert (before[:10] >= 0.5).all()
    _, after = few_label(x, prior, lift, np.array([0, 1, 2]), np.zeros(3, int))
    assert (after[3:10] < 0.5).all()  # three accepts rescue the other seven
    assert after[10:].max() < 0.5
