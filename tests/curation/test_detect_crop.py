"""Detectors, crops and quality scores on real images."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

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


def test_the_anime_cascade_ships_with_the_package(monkeypatch, tmp_path):
    """No --cascade, an empty cache dir and no network: the shipped file, checksum and licence."""
    monkeypatch.setenv("GAN_STUDIO_CACHE_DIR", str(tmp_path))
    path = resolve_anime_cascade(None)
    assert path == detectors.PACKAGED_ANIME_CASCADE and path.is_relative_to(Path(detectors.__file__).parent)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == detectors.ANIME_CASCADE_SHA256
    assert "The MIT License" in path.read_text()[:2000]  # the notice travels inside the XML
    licence = path.parent / "LICENSE-lbpcascade_animeface.txt"
    assert "nagadomi" in licence.read_text() and "The MIT License" in licence.read_text()
    faces = get_detector("anime")(_drawn_face_scene())
    assert len(faces) == 1 and faces[0].w >= 24


def _drawn_face_scene() -> np.ndarray:
    from tests.fixtures.anime_scenes import composite, drawn_face

    rgba = drawn_face(np.random.default_rng(4), 160)
    return composite(np.full((320, 320, 3), 120, np.uint8), rgba, 80, 80)  # mid-grey: found


def test_a_damaged_shipped_cascade_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("GAN_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    damaged = tmp_path / "lbpcascade_animeface.xml"
    damaged.write_bytes(detectors.PACKAGED_ANIME_CASCADE.read_bytes().replace(b"<maxWeakCount>", b"<maxWeakCount> ", 1))
    monkeypatch.setattr(detectors, "PACKAGED_ANIME_CASCADE", damaged)
    with pytest.raises(CurationError, match=r"damaged .*SHA-256.*reinstall, or pass --cascade"):
        get_detector("anime")
    monkeypatch.setattr(detectors, "PACKAGED_ANIME_CASCADE", tmp_path / "gone.xml")
    with pytest.raises(CurationError, match="missing"):
        get_detector("anime")


def test_a_cascade_in_the_cache_dir_overrides_the_shipped_one(monkeypatch, tmp_path, anime_cascade):
    monkeypatch.setenv("GAN_STUDIO_CACHE_DIR", str(tmp_path))
    (tmp_path / "detectors").mkdir()
    (tmp_path / "detectors" / "lbpcascade_animeface.xml").write_bytes(anime_cascade.read_bytes())
    assert resolve_anime_cascade(None).parent == tmp_path / "detectors"
    assert resolve_anime_cascade(anime_cascade) == anime_cascade  # --cascade wins over both


def test_the_wheel_carries_the_cascade_and_its_licence(tmp_path):
    """pyproject's package-data: a non-editable install has the file too (built offline)."""
    repo = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(repo), "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path)], check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "curation/data/lbpcascade_animeface.xml" in names
    assert "curation/data/LICENSE-lbpcascade_animeface.txt" in names


def test_bad_cascade_paths_are_user_errors(tmp_path):
    with pytest.raises(CurationError, match="not found"):
        get_detector("anime", tmp_path / "nope.xml")
    junk = tmp_path / "junk.xml"
    junk.write_text("<nope/>")
    with pytest.raises(CurationError, match="cannot load cascade"):
        get_detector("anime", junk)
    with pytest.raises(CurationError, match="unknown detector"):
        get_detector("martian")


@pytest.mark.cli
@pytest.mark.parametrize("name", ["os:system", "builtins:dict", "os:sep", "martian"])
def test_a_detector_name_that_is_no_detector_is_one_line_naming_the_accepted_forms(tmp_path, name):
    """`studio curate --detector os:system` would call os.system(cascade=None): refused first."""
    from tests.helpers import studio

    studio("init", "-w", tmp_path / "ws", check=True)
    r = studio("curate", "-w", tmp_path / "ws", "--detector", name, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-3000:]
    (line,) = r.stderr.strip().splitlines()
    assert name in line and "--detector takes anime, human, or module:factory" in line, line
    assert not (tmp_path / "ws" / "db").exists()  # refused before any database was started


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
