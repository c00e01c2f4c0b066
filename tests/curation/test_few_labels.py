"""The filter learns from the first labels; a reject spreads to near copies; a flipped and
re-encoded copy lands in its original's duplicate group (real images, real FiftyOne DB)."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from curation.catalog import open_catalog, review_queue
from curation.config import CurateConfig
from curation.crop import crop_face
from curation.dedup import confirmed_pairs, hash_pairs, source_pairs
from curation.detectors import Face, get_detector
from curation.evidence import calibrate, combine
from curation.features import embedding, filter_features, perceptual_hashes
from curation.filter_model import few_label, rule_updates, updated_prior
from curation.quality import quality_scores
from curation.rescoring import set_label
from curation.run import curate
from tests.fixtures import face_scenes as fs


def _crops(masked: bool, first: int, n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(first)
    faces = [fs.colour_face(fs.lfw()[i], 84, rng) for i in range(first, first + n)]
    if masked:
        faces = [fs.mask_face(f) for f in faces]
    # The crop margin: the face fills the middle of a 128-px crop.
    return [np.pad(f, ((22, 22), (22, 22), (0, 0)), mode="edge") for f in faces]


def _features(crops: list[np.ndarray]) -> np.ndarray:
    return np.stack([filter_features(c, quality_scores(c)) for c in crops])


def test_two_labels_make_look_alikes_of_a_rejected_crop_suspect():
    crops = _crops(False, 0, 12) + _crops(True, 20, 6)
    x = _features(crops)
    prior = np.zeros((len(crops), 6))  # the rules missed every mask
    labelled, y = np.array([0, 12]), np.array([0, 1])  # one face accepted, one mask rejected
    model, p = few_label(x, prior, np.zeros(len(crops)), labelled, y)
    faces, masks = p[1:12], p[13:]
    assert model["labels"] == {"accept": 1, "reject": 1} and model["kind"] == "few-label"
    assert masks.min() > 0.05  # above the rules' 0.05: the one reject taught something
    assert masks.min() > faces.max()  # every mask ranks above every face (measured 0.08 > 0.07)
    assert masks.mean() > 2 * faces.mean()
    assert p.max() < 0.5  # two labels: no verdict against the rules on anything unlabelled


def test_few_labels_stay_near_the_rules_far_from_any_label():
    """14 labels (7 and 7) of one kind of crop: a crop unlike any of them keeps roughly its
    rule probability, whichever way the labels went."""
    crops = _crops(False, 0, 14) + _crops(True, 20, 14)
    rng = np.random.default_rng(9)
    odd = [np.full((128, 128, 3), rng.integers(0, 255, 3), np.uint8) for _ in range(3)]
    for o in odd:
        cv2.circle(o, (64, 64), 30, (250, 250, 250), -1)
    x = _features(crops + odd)
    prior = np.zeros((len(x), 6))
    prior[-1, 3] = 0.7  # the last odd one: the human-face rule fired (0.72 with the base)
    labelled = np.r_[0:7, 14:21]
    y = np.r_[np.zeros(7, int), np.ones(7, int)]
    _, p = few_label(x, prior, np.zeros(len(x)), labelled, y)
    rules = combine(updated_prior(prior, rule_updates(prior, labelled, y)))
    assert np.abs(p[-3:] - rules[-3:]).max() < 0.35
    assert p[-1] > 0.5  # the rule's verdict stands


def test_accepts_teach_that_a_rule_is_wrong_here():
    signals = np.zeros((100, 6), bool)
    signals[:6, 0] = True  # the cat rule fired on six human faces of 100 crops
    prior, _ = calibrate(signals, [None] * 100)
    before = combine(updated_prior(prior, rule_updates(prior, np.array([], int), np.array([], int))))
    after = combine(updated_prior(prior, rule_updates(prior, np.array([0, 1, 2]), np.array([0, 0, 0]))))
    assert before[5] > 0.4 and after[5] < 0.25 < before[5]
    assert after[9] == before[9]  # crops the rule did not fire on keep their probability


def test_source_links_a_flipped_reencoded_copy_whose_box_shifted():
    img = data.astronaut()
    buf = io.BytesIO()
    Image.fromarray(img[:, ::-1].copy()).save(buf, "JPEG", quality=60)
    copy = np.asarray(Image.open(buf).convert("RGB"))
    w = img.shape[1]
    box, shifted = (177, 66, 95, 95), (w - 177 - 95 - 6, 61, 105, 105)  # ~10 % larger, moved
    other = data.coffee()
    hashes = [perceptual_hashes(x) for x in (img, copy, other)]
    src = np.array([h["phash"] for h in hashes], np.uint64)
    flip = np.array([h["phash_flip"] for h in hashes], np.uint64)
    sizes = np.array([[w, img.shape[0]], [w, img.shape[0]], [other.shape[1], other.shape[0]]])
    pairs = source_pairs(src, flip, np.array([box, shifted, box]), sizes, 4, 0.5)
    assert pairs.tolist() == [[0, 1]]
    far = (20, 300, 95, 95)  # same images, another place: not the same face
    assert not len(source_pairs(src[:2], flip[:2], np.array([box, far]), sizes[:2], 4, 0.5))


@pytest.mark.slow
def test_hash_near_distinct_faces_need_near_embeddings_too():
    """Detected crops of 60 distinct faces: some pairs collide within 7 hash bits (merged by the
    old hash-only rule); the embedding check keeps every one of them apart."""
    detect, rng, crops = get_detector("human"), np.random.default_rng(21), []
    for i in range(60):
        scene = fs.face_scene(f"d{i}", i, rng)
        for face in detect(scene.rgb):
            if fs.iou(scene.planted[0].box, (face.x, face.y, face.w, face.h)) > 0.3:
                crops.append(crop_face(scene.rgb, face, 1.5, 128, 2.0).pixels)
                break
    h = [perceptual_hashes(c) for c in crops]
    sets = {k: np.array([x[k] for x in h], np.uint64) for k in h[0]}
    near = hash_pairs(sets, 7)
    assert len(near)
    emb = np.stack([embedding(c) for c in crops]).astype(np.float64)
    assert not len(confirmed_pairs(near, emb, 0.12))
    twin = np.vstack([emb, emb[:1]])  # a true copy passes both
    assert confirmed_pairs(np.array([[0, len(crops)]]), twin, 0.12).tolist() == [[0, len(crops)]]


@pytest.mark.slow
def test_flipped_reencoded_copy_grouped_and_labels_rescore_at_once(fiftyone_db, tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    rng = np.random.default_rng(11)
    scenes = [fs.face_scene(f"s{i}", i, rng, size=120) for i in range(3)]
    items = [fs.scene_item(s) for s in scenes]
    items.append(("https://copies.example/s1-flip-q60.jpg",
                  fs.encode(scenes[1].rgb[:, ::-1].copy(), quality=60), "https://copies.example/"))
    fs.write_raw(root, items)
    curate(root, CurateConfig(detector="human"), progress=False)
    ds = open_catalog(root)
    cols = ["id", "sha256", "source_url", "dup_group", "phash", "phash_flip", "dhash", "dhash_flip"]
    by_url = {row[2]: row for row in zip(*ds.values(cols), strict=True)}
    orig = by_url["https://faces.example/img/s1.jpg"]
    copy = by_url["https://copies.example/s1-flip-q60.jpg"]
    # The detector box moved on the copy: its crop is > 7 bits from the original's (mirrored or
    # not) in pHash and dHash alike, so only the source-image link can group them.
    bits = lambda a, b: bin((a ^ b) & (2**64 - 1)).count("1")  # noqa: E731
    assert min(bits(orig[4], copy[4]), bits(orig[5], copy[4])) > 7
    assert min(bits(orig[6], copy[6]), bits(orig[7], copy[6])) > 7
    assert orig[3] and copy[3] == orig[3]
    orig_sha, (copy_id, copy_sha) = orig[1], copy[:2]
    # One reject: the filter rescores at once (few-label) and the copy becomes suspect.
    set_label(ds, orig_sha, "reject", "not a face")
    info = ds.info["pollution_filter"]
    assert info["kind"] == "few-label" and info["labels"] == {"accept": 0, "reject": 1}
    again = curate(root, CurateConfig(detector="human"), progress=False)
    assert again.filter["trained_at"] == info["trained_at"]  # same labels: not "retrained"
    copy = ds[copy_id]
    assert copy.decision == "rejected" and "like_rejected" in copy.reasons
    assert copy.pollution_source == "few-label"
    assert orig_sha not in review_queue(ds, 10).values("sha256")
    set_label(ds, copy_sha, "accept")  # the human's word on the copy wins
    copy.reload()
    assert copy.decision == "accepted"


@pytest.mark.slow
def test_half_of_each_pollution_kind_teaches_the_other_half(anime_cascade):
    """Real anime art (Ren'Py sprites, on white and on their backgrounds) and drawn faces are
    good; defocused copies and photos of people (lfw in sklearn's photos) are pollution. The
    rules are silenced: only the learned representation can tell them apart."""
    from curation.detectors import cascade_detector
    from tests.fixtures import anime_scenes as an

    sprites = an.renpy_sprites()
    if not sprites:
        pytest.skip(an.SKIP_REASON)
    detect, rng = cascade_detector(anime_cascade), np.random.default_rng(8)
    bgs = [bg for bg, _ in an.renpy_backgrounds().values()]
    good, blurred = [], []
    for k, rgba in enumerate(sprites.values()):
        bg = bgs[k % len(bgs)]
        sharp, soft = (an.composite(bg, rgba, 100 + 40 * k, 0),
                       an.composite(bg, an.blur_rgba(rgba, 4.0), 100 + 40 * k, 0))
        faces = detect(sharp)
        if faces:
            f = max(faces, key=lambda f: f.w)
            good.append(crop_face(sharp, f, 1.5, 128, 2.0).pixels)
            blurred.append(crop_face(soft, f, 1.5, 128, 2.0).pixels)
    for _ in range(12):
        img = an.composite(an.illustration(rng), an.drawn_face(rng, 150), 100, 100)
        good.append(crop_face(img, Face(122, 122, 105, 105, 1.0), 1.5, 128, 2.0).pixels)
    people = []
    for i in range(12):
        img = an.photos()["china"][0].copy()
        img[100:220, 200:320] = an.lfw_person(i, 120, rng)
        people.append(crop_face(img, Face(200, 100, 120, 120, 1.0), 1.5, 128, 2.0).pixels)
    crops = good + blurred + people
    kind = np.array([0] * len(good) + [1] * len(blurred) + [2] * len(people))
    x = _features(crops)
    labelled = np.sort(np.concatenate([np.flatnonzero(kind == 0)[:3]]
                                      + [np.flatnonzero(kind == k)[::2] for k in (1, 2)]))
    y = (kind[labelled] > 0).astype(int)
    model, p = few_label(x, np.zeros((len(x), 6)), np.zeros(len(x)), labelled, y)
    assert model["cv_folds"] == len(labelled)  # leave-one-out
    held = np.setdiff1d(np.arange(len(x)), labelled)
    polluted, clean = held[kind[held] > 0], held[kind[held] == 0]
    # Every unlabelled polluted crop ranks above every unlabelled clean one (measured: clean
    # 0.03-0.23, defocused 0.15-0.44, people 0.54-0.74), no clean crop is rejected, and with 15
    # labels and no rule the moderated shift carries half of the pollution over 0.5 (the rest
    # stays near the rules' 0.05 until more labels: by design, no confident verdict yet).
    assert p[polluted].min() > p[clean].max()
    assert (p[clean] >= 0.5).sum() == 0
    assert (p[polluted] >= 0.5).mean() >= 0.4
    assert (p[held[kind[held] == 2]] >= 0.5).all()  # photos of people: all of them
