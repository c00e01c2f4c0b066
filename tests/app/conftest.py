"""Fixtures of the app tests: a curated workspace (the trained one, `trained_ws`, is in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def curated_ws(fiftyone_db, tmp_path_factory) -> Path:
    """A workspace curated for real (`curation.run.curate`, human detector) from generated scenes:
    faces, a cat, the astronaut, and re-encoded copies that become near-duplicate groups.

    The catalog lives in the session's one FiftyOne database; tests that label must restore it."""

    from curation.config import CurateConfig
    from curation.run import curate
    from tests.fixtures.face_scenes import (
        astronaut_scene,
        cat_scene,
        face_scene,
        scene_item,
        write_raw,
    )

    ws = tmp_path_factory.mktemp("curated") / "ws"
    ws.mkdir()
    (ws / "studio.toml").write_text("")
    rng = np.random.default_rng(1)
    scenes = [face_scene(f"face{i}", i, rng, size=140) for i in range(10)]
    scenes += [cat_scene("cat", rng), astronaut_scene()]
    items = [scene_item(s) for s in scenes]
    items += [scene_item(s, quality=60) for s in (scenes[0], scenes[-1])]  # near-duplicates
    items = [(url.replace(".jpg", f"-{i}.jpg"), data, page) for i, (url, data, page) in enumerate(items)]
    write_raw(ws, items)
    report = curate(ws, CurateConfig(detector="human", workers=2), progress=False)
    assert report.crops >= 4 and report.groups >= 1, report
    return ws
