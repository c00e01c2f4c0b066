"""Other expressions of one picture are distinct faces; copies of it (re-encoded, resized,
mirrored) are duplicates (Ren'Py's MIT sprites; real detection)."""

from __future__ import annotations

import io
import itertools

import cv2
import numpy as np
import pytest
from PIL import Image

from curation import dedup
from curation.dedup import EXPRESSION_DIFFERENCE, copy_groups, face_difference
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


def test_copy_groups_keep_copy_links_and_drop_expression_links(sylvie):
    (a, box), (b, _) = sylvie[0], sylvie[1]
    pictures = [(a, 1.0), (_jpeg(a), 1.0), (b, 1.0), (b, 1.0)]
    boxes = np.array([box, box, box, box])
    pairs = np.array([[0, 1], [0, 2], [1, 2]])
    assert copy_groups(4, pairs, None, boxes, lambda i: pictures[i]) == [[0, 1]]
    # An equal crop (the same sha256) is joined whatever its picture.
    assert copy_groups(4, pairs, [[2, 3]], boxes, lambda i: pictures[i]) == [[0, 1], [2, 3]]
    unreadable = copy_groups(4, pairs, None, boxes, lambda i: None)
    assert unreadable == [[0, 1, 2]]  # nothing to compare: the links stand


def test_copy_groups_compare_each_copy_once_not_each_pair(monkeypatch):
    """A hundred copies of one picture are 4,950 links; once a copy is joined, its other links
    cannot change the groups and are not compared (a thousand near-identical faces took curate
    minutes). The groups are those of testing every link."""
    rng = np.random.default_rng(0)
    picture = rng.integers(0, 255, (96, 96, 3), np.uint8)
    copies = [np.clip(picture.astype(int) + rng.integers(-2, 3, picture.shape), 0, 255).astype(np.uint8)
              for _ in range(100)]
    other = picture.copy()
    other[30:70, 30:70] = 255 - other[30:70, 30:70]  # another expression of the picture
    pictures = [*copies, other]
    compared = []

    def counted(*args):
        compared.append(1)
        return face_difference(*args)

    monkeypatch.setattr(dedup, "face_difference", counted)
    n = len(pictures)
    pairs = np.array([(i, j) for i in range(n) for j in range(i + 1, n)])
    boxes = [(24, 24, 48, 48)] * n
    groups = copy_groups(n, pairs, None, boxes, lambda i: (pictures[i], 1.0), limit=len(pairs))
    assert groups == [list(range(100))]
    # 99 links join the copies, the other expression is compared with each of them: 199, not 5,050.
    assert len(compared) < 2 * n
    # Every link tested (the old way) gives the same groups.
    kept = [p for p in pairs.tolist()
            if face_difference(pictures[p[0]], boxes[p[0]], pictures[p[1]]) <= EXPRESSION_DIFFERENCE]
    assert copy_groups(n, np.array(kept), None) == [list(range(100))]


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
