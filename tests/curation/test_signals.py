"""Pollution signals of anime crawls on real images: a human face (skimage's astronaut, lfw
faces in a photo), photo vs drawing (skimage photos against Ren'Py sprites and drawn faces),
blur judged against the picture's own sharpness. No database."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from curation import photo_signals as ps
from curation.crop import crop_face
from curation.detectors import Face, cascade_detector, haar_path
from curation.pollution import SIGNALS, PollutionChecker, rule_probability
from tests.fixtures import anime_scenes as an

NO_CATS: list[list[Face]] = [[], []]


@pytest.fixture(scope="module")
def checker():
    from tests.curation.conftest import SHARED_CASCADE

    if not SHARED_CASCADE.is_file():
        pytest.skip("../shared/detectors/lbpcascade_animeface.xml is not here")
    detect = cascade_detector(SHARED_CASCADE)
    return PollutionChecker("anime", detect), detect


def _signals(checker, rgb, face):
    crop = crop_face(rgb, face, 1.5, 128, 2.0).pixels
    return checker.signals(crop, face, NO_CATS, rgb, 1.5)


def _sprite_faces(detect):
    sprites = an.renpy_sprites()
    if not sprites:
        pytest.skip(an.SKIP_REASON)
    out = []
    for rgba in sprites.values():
        white = an.composite(np.full((*rgba.shape[:2], 3), 255, np.uint8), rgba, 0, 0)
        out += [(white, f) for f in detect(white)[:1]]
    assert len(out) >= 10  # 12 of the 13 sprites (not "lucy mad")
    return out


def _photo_people():
    """The astronaut's face and three lfw faces pasted into sklearn's china photo."""
    rng = np.random.default_rng(0)
    out = [(data.astronaut(), Face(177, 66, 95, 95, 1.0))]
    for i in range(3):
        img = an.photos()["china"][0].copy()
        img[100:220, 200:320] = an.lfw_person(i, 120, rng)
        out.append((img, Face(200, 100, 120, 120, 1.0)))
    return out


def test_human_face_in_photos_of_people_not_in_anime_sprites(checker):
    chk, detect = checker
    assert all(_signals(chk, img, f)["human_face"] for img, f in _photo_people())
    assert not any(_signals(chk, img, f)["human_face"] for img, f in _sprite_faces(detect))


def test_human_pipeline_never_calls_its_own_faces_polluted():
    chk = PollutionChecker("human", cascade_detector(haar_path("haarcascade_frontalface_default.xml")))
    img, face = _photo_people()[0]
    s = _signals(chk, img, face)
    assert not s["human_face"] and not s["photo"] and not s["blurred"]


def test_photo_statistics_tell_photos_from_drawings(checker):
    chk, detect = checker
    photos = [(data.astronaut(), Face(177, 66, 95, 95, 1.0)),
              (data.chelsea(), Face(140, 40, 150, 150, 1.0)), *_photo_people()[2:]]
    assert all(_signals(chk, img, f)["photo"] for img, f in photos)
    assert not any(_signals(chk, img, f)["photo"] for img, f in _sprite_faces(detect))
    rng = np.random.default_rng(3)
    for _ in range(10):
        img = an.composite(an.illustration(rng), an.drawn_face(rng, 150), 100, 100)
        assert not _signals(chk, img, Face(122, 122, 105, 105, 1.0))["photo"]


def test_blur_is_judged_against_the_pictures_own_sharpness(checker):
    chk, _ = checker
    rng = np.random.default_rng(5)
    face = Face(122, 122, 105, 105, 1.0)
    for _ in range(5):
        bg, drawn = an.illustration(rng), an.drawn_face(rng, 150)
        sharp = an.composite(bg, drawn, 100, 100)
        soft_face = an.composite(bg, an.blur_rgba(drawn, 4.0), 100, 100)
        all_soft = cv2.GaussianBlur(sharp, (0, 0), 4.0)  # a soft picture, its face no softer
        assert not _signals(chk, sharp, face)["blurred"]
        assert _signals(chk, soft_face, face)["blurred"]
        s = _signals(chk, all_soft, face)
        assert not s["blurred"] and s["blur_ratio"] > ps.BLUR_LOG_RATIO + 1


def test_sprites_are_not_blurred_on_drawn_or_photographed_backgrounds(checker):
    chk, detect = checker
    if not an.renpy_sprites():
        pytest.skip(an.SKIP_REASON)
    rng = np.random.default_rng(2)
    sprite = an.renpy_sprites()["sylvie blue normal"]
    fired = []
    for bg, _photo in an.renpy_backgrounds().values():
        img = an.composite(bg, sprite, int(rng.integers(0, bg.shape[1] - sprite.shape[1])), 20)
        faces = detect(img)
        assert faces
        fired.append(_signals(chk, img, faces[0])["blurred"])
    assert not any(fired)


def test_each_signal_raises_the_rule_probability():
    quiet = rule_probability(dict.fromkeys(SIGNALS, False))
    for name in SIGNALS:
        assert rule_probability({name: True}) > quiet + 0.3
    assert rule_probability({"human_face": True, "photo": True}) > 0.85


def test_drawn_faces_pass_the_entropy_floor_for_anime_but_blank_crops_do_not():
    from curation.config import CurateConfig
    from curation.quality import quality_failures, quality_scores

    rng = np.random.default_rng(4)
    crops = [crop_face(an.composite(an.illustration(rng), an.drawn_face(rng, 150), 100, 100),
                       Face(122, 122, 105, 105, 1.0), 1.5, 128, 2.0).pixels for _ in range(10)]
    anime, human = CurateConfig(detector="anime"), CurateConfig(detector="human")
    assert not any("low_entropy" in quality_failures(quality_scores(c), anime) for c in crops)
    # The photo-made 4-bit floor rejects most flat-coloured drawings (why anime has its own).
    assert sum("low_entropy" in quality_failures(quality_scores(c), human) for c in crops) >= 5
    blank = np.full((128, 128, 3), (200, 180, 170), np.uint8)
    blank[60:68] = (190, 170, 160)
    assert "low_entropy" in quality_failures(quality_scores(blank), anime)
