"""Other expressions of one picture are distinct faces; copies of it (re-encoded, resized,
mirrored) are duplicates (Ren'Py's MIT sprites; real detection)."""

from __future__ import annotations

import io
import itertools

import cv2
import numpy as np
import pytest
from PIL import Image

from curation.dedup import EXPRESSION_DIFFERENCE, face_difference, split_expressions
from curation.detectors import get_detector
from tests.fixtures import anime_scenes as an


@pytest.fixture(scope="module")
def sylvie():
    sprites = {k: v for k, v in an.renpy_sprites().items() if k.startswith("sylvie blue")}
    if not sprites:
        pytest.skip(an.SKIP_REASON)
    detect = get_detector("anime")
    out = []
    for rgba in sprites.values():
        white = an.composite(np.full((*rgba.shape[:2], 3), 255, np.uint8), rgba, 0, 0)
        f = max(detect(white), key=lambda f: f.w)
        out.append((white, (f.x, f.y, f.w, f.h)))
    return out


def _jpeg(rgb: np.ndarray, q: int = 60) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=q)
    return np.asarray(Image.open(buf).convert("RGB"))


def test_copies_are_close_and_expressions_are_not(sylvie):
    for rgb, box in sylvie:
        small = cv2.resize(rgb, None, fx=0.7, fy=0.7, interpolation=cv2.INTER_AREA)
        for copy in (_jpeg(rgb), small, rgb[:, ::-1].copy()):
            assert face_difference(rgb, box, copy) <= EXPRESSION_DIFFERENCE
    for (a, box), (b, _) in itertools.combinations(sylvie, 2):
        assert face_difference(a, box, b) > EXPRESSION_DIFFERENCE


def test_split_expressions_keeps_copy_links_and_drops_expression_links(sylvie):
    (a, box), (b, _) = sylvie[0], sylvie[1]
    pictures = [(a, 1.0), (_jpeg(a), 1.0), (b, 1.0)]
    boxes = np.array([box, box, box])
    pairs = np.array([[0, 1], [0, 2], [1, 2]])
    kept = split_expressions(pairs, boxes, lambda i: pictures[i], EXPRESSION_DIFFERENCE)
    assert kept.tolist() == [[0, 1]]
    unreadable = split_expressions(pairs, boxes, lambda i: None, EXPRESSION_DIFFERENCE)
    assert unreadable.tolist() == pairs.tolist()  # nothing to compare: the links stand


@pytest.mark.slow  # a real curate of nine pictures
def test_a_characters_expressions_stay_distinct_faces_in_the_catalog(fiftyone_db, tmp_path):
    """lilynovelplayer's eight busts of one girl (shared/art, MIT): curated for real, they used
    to collapse into one duplicate group with one kept; copies of one of them still group."""
    from pathlib import Path

    from curation.catalog import open_catalog
    from curation.config import CurateConfig
    from curation.run import curate
    from tests.fixtures import face_scenes as fs

    gallery = Path(__file__).resolve().parents[3] / "shared" / "art" / "lilynovelplayer" / "gallery"
    if not gallery.is_dir():
        pytest.skip("../shared/art is not here")
    busts = sorted(gallery.glob("girl_0*_g.png"))
    items = [(f"https://vn.example/{p.name}", p.read_bytes(), "https://vn.example/") for p in busts]
    first = np.asarray(Image.open(busts[0]).convert("RGB"))
    items.append(("https://vn.example/copy.jpg", fs.encode(first, "JPEG", 70), "https://vn.example/"))
    fs.write_raw(tmp_path, items)
    (tmp_path / "studio.toml").write_text("")
    curate(tmp_path, CurateConfig(detector="anime", workers=1), progress=False)
    ds = open_catalog(tmp_path)
    names = [u.rsplit("/", 1)[-1] for u in ds.values("source_url")]
    group = dict(zip(names, ds.values("dup_group"), strict=True))
    accepted = [n for n, d in zip(names, ds.values("decision"), strict=True) if d == "accepted"]
    assert group["copy.jpg"] and group["copy.jpg"] == group[busts[0].name]  # a copy is a copy
    assert len([n for n in accepted if n.startswith("girl_")]) >= 6  # was 1 of 8
