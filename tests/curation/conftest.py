"""Fixtures for curation tests: detector files, generated workspaces, a curated catalog."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.fixtures import face_scenes as fs

SHARED_CASCADE = Path(__file__).resolve().parents[3] / "shared" / "detectors" / "lbpcascade_animeface.xml"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Never read or fill the real user cache dir from tests."""
    monkeypatch.setenv("GAN_STUDIO_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture
def anime_cascade() -> Path:
    if not SHARED_CASCADE.is_file():
        pytest.skip("../shared/detectors/lbpcascade_animeface.xml is not here")
    return SHARED_CASCADE


def make_workspace(root: Path) -> dict:
    """A workspace with scenes: 8 planted faces, a mirror and a re-encoded copy, an exact
    duplicate URL, a cat, the astronaut, a masked face, a corrupt file and a missing file."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "studio.toml").write_text("[curate]\ndetector = \"human\"\n")
    rng = np.random.default_rng(7)
    scenes = [fs.face_scene(f"s{i}", i, rng, size=120) for i in range(8)]
    scenes += [fs.cat_scene("cat", rng), fs.astronaut_scene(),
               fs.face_scene("masked", 40, rng, masked=True, size=120)]
    items = [fs.scene_item(s) for s in scenes]
    items.append(("https://mirror.example/s0-copy.jpg", items[0][1], "https://mirror.example/"))
    items.append(("https://mirror.example/s0-flip.jpg", fs.encode(scenes[0].rgb[:, ::-1].copy()),
                  "https://mirror.example/"))
    items.append(("https://mirror.example/s2-q70.jpg", fs.encode(scenes[2].rgb, quality=70),
                  "https://mirror.example/"))
    items.append(("https://bad.example/corrupt.jpg", b"\xff\xd8\xff\xe0 truncated jpeg",
                  "https://bad.example/"))
    lines = fs.write_raw(root, items)
    missing = fs.write_raw(root, [("https://bad.example/gone.png", fs.encode(scenes[3].rgb[::2, ::2].copy(), "PNG"),
                                   "https://bad.example/")])
    (root / missing[0]["path"]).unlink()
    return {"scenes": scenes, "lines": lines + missing}


@pytest.fixture(scope="session")
def curated(fiftyone_db, tmp_path_factory):
    """One curated workspace shared by read-only tests (curate runs once per session)."""
    from curation.config import CurateConfig
    from curation.run import curate

    root = tmp_path_factory.mktemp("curated-ws")
    info = make_workspace(root)
    report = curate(root, CurateConfig(detector="human"), progress=False)
    return {"root": root, "report": report, **info}
