"""Detectors, crops and quality scores on real images."""

from __future__ import annotations

import socket

import cv2
import numpy as np
import pytest
from skimage import data

from curation import detectors
from curation.config import CurateConfig
from curation.crop import crop_face, square_box
from curation.detectors import Face, get_detector, register_detector, resolve_anime_cascade
from curation.errors import CurationError
from curation.quality import quality_failures, quality_scores


def test_human_detector_finds_the_astronaut_with_a_score():
    faces = get_detector("human")(data.astronaut())
    assert len(faces) == 1
    f = faces[0]
    assert 150 < f.x < 200 and 40 < f.y < 90 and f.w > 80
    assert f.score > 0


def test_human_detector_finds_nothing_in_coffee():
    assert get_detector("human")(data.coffee()) == []


def test_anime_cascade_loads_and_runs(anime_cascade):
    detect = get_detector("anime", anime_cascade)
    assert detect(data.astronaut()) == [] or all(f.w >= 24 for f in detect(data.astronaut()))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_missing_anime_cascade_offline_says_where_to_put_it(monkeypatch, tmp_path):
    monkeypatch.setenv("GAN_STUDIO_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(detectors, "ANIME_CASCADE_URL", f"http://127.0.0.1:{_closed_port()}/x.xml")
    with pytest.raises(CurationError) as exc:
        resolve_anime_cascade(None)
    msg = str(exc.value)
    assert str(tmp_path / "detectors" / "lbpcascade_animeface.xml") in msg and "--cascade" in msg


def test_anime_cascade_is_found_in_the_cache_dir(monkeypatch, tmp_path, anime_cascade):
    monkeypatch.setenv("GAN_STUDIO_CACHE_DIR", str(tmp_path))
    (tmp_path / "detectors").mkdir()
    (tmp_path / "detectors" / "lbpcascade_animeface.xml").write_bytes(anime_cascade.read_bytes())
    assert resolve_anime_cascade(None, download=False).parent == tmp_path / "detectors"


def test_bad_cascade_paths_are_user_errors(tmp_path):
    with pytest.raises(CurationError, match="not found"):
        get_detector("anime", tmp_path / "nope.xml")
    junk = tmp_path / "junk.xml"
    junk.write_text("<nope/>")
    with pytest.raises(CurationError, match="cannot load cascade"):
        get_detector("anime", junk)
    with pytest.raises(CurationError, match="unknown detector"):
        get_detector("martian")


def test_plugin_detector_is_a_function_image_to_boxes():
    register_detector("centre", lambda cascade=None: lambda rgb: [Face(10, 10, 50, 50, 1.0)])
    assert get_detector("centre")(np.zeros((80, 80, 3), np.uint8))[0].w == 50


def test_crop_is_square_with_margin_and_padded_at_the_border():
    rgb = np.full((200, 200, 3), 200, np.uint8)
    rgb[:, :10] = 0  # left edge dark: replicate padding keeps it dark
    face = Face(0, 50, 80, 80, 1.0)  # at the left border
    assert square_box(face, 1.5) == (-20, 30, 120, 120)
    crop = crop_face(rgb, face, 1.5, 128, 2.0)
    assert crop.pixels.shape == (128, 128, 3)
    assert crop.crop_box == (-20, 30, 120, 120)
    assert crop.pixels[64, 0].max() == 0 and crop.pixels[64, 127].min() == 200


def test_faces_needing_too_much_upscaling_are_dropped():
    rgb = np.zeros((100, 100, 3), np.uint8)
    assert crop_face(rgb, Face(10, 10, 40, 40, 1.0), 1.5, 128, 2.0) is None  # 60 px → 128: 2.13×
    assert crop_face(rgb, Face(10, 10, 43, 43, 1.0), 1.5, 128, 2.0) is not None  # 64 px: 2×


def test_quality_flags_blur_flatness_and_greyscale():
    img = data.astronaut()[0:256, 100:356]
    sharp = quality_scores(img)
    blurred = quality_scores(cv2.GaussianBlur(img, (0, 0), 6))
    assert blurred["blur"] < sharp["blur"] / 5
    cfg = CurateConfig()
    assert quality_failures(sharp, cfg) == []
    assert "blurry" in quality_failures(blurred, cfg)
    flat = quality_scores(np.full((128, 128, 3), 128, np.uint8))
    assert {"low_contrast", "low_entropy", "blurry"} <= set(quality_failures(flat, cfg))
    grey = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    assert "grayscale" in quality_failures(quality_scores(grey), cfg)
