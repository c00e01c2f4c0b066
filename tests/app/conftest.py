"""Fixtures of the app tests: a workspace with a crawl and two runs of a tiny, really trained GAN."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _training_images(folder: Path, n: int = 24) -> None:
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    sources = [data.astronaut(), data.chelsea(), data.coffee()]
    for i in range(n):
        src = sources[i % 3]
        y, x = rng.integers(0, src.shape[0] - 128), rng.integers(0, src.shape[1] - 128)
        Image.fromarray(src[y:y + 128, x:x + 128]).save(folder / f"{i:03d}.png")


def _crawl_files(ws: Path) -> None:
    lines = []
    for i, (page, url) in enumerate([("https://a.example/p1", "https://cdn.a.example/1.jpg"),
                                     ("https://a.example/p2", "https://cdn.a.example/2.jpg"),
                                     ("https://www.b.example/", "https://b.example/x.png")]):
        sha = f"{i:064x}"
        lines.append({"url": url, "page_url": page, "sha256": sha, "path": f"raw/{sha[:2]}/{sha}.jpg",
                      "width": 200, "height": 200, "bytes": 1000, "content_type": "image/jpeg",
                      "fetched_at": "2025-01-01T00:00:00Z", "alt": ""})
    (ws / "raw").mkdir(parents=True)
    (ws / "raw" / "manifest.jsonl").write_text("".join(json.dumps(m) + "\n" for m in lines))
    (ws / "crawl" / "20250101T000000Z").mkdir(parents=True)
    (ws / "crawl" / "20250101T000000Z" / "stats.json").write_text(json.dumps(
        {"started_at": "2025-01-01T00:00:00Z", "duration_s": 12.5, "finish_reason": "finished",
         "pages": 3, "images_found": 4, "stored": 3, "duplicates": 1, "rejected": {"too_small": 1}}))


@pytest.fixture(scope="session")
def trained_ws(tmp_path_factory) -> Path:
    """A workspace with a crawl, an export and two runs (20 real CPU steps each); run 0 promoted.

    Pages must not write into it (tests that change files copy it first)."""
    from gan.config import TrainConfig
    from gan.train import train
    from studio.models import promote
    from studio.workspace import Workspace

    ws = tmp_path_factory.mktemp("trained") / "ws"
    ws.mkdir()
    (ws / "studio.toml").write_text("")
    _crawl_files(ws)
    images = ws / "exports" / "v0001" / "images"
    _training_images(images)
    (images.parent / "manifest.jsonl").write_text(  # an export's manifest: it is finished
        "".join(f'{{"path": "images/{f.name}", "sha256": "{f.stem}"}}\n' for f in sorted(images.iterdir())))
    for i, lr in enumerate((2e-4, 5e-4)):
        cfg = TrainConfig(resolution=32, steps=20, batch=8, g_width=8, d_width=8, z_dim=16,
                          device="cpu", log_every=5, sample_every=10, ckpt_every=10, metric_every=0,
                          metric_images=16, compile=False, lr_g=lr, seed=i)
        result = train(cfg, images, ws / "runs" / f"0000{i}-tiny-r32", log=lambda m: None)
    first = ws / "runs" / "00000-tiny-r32"
    promote(Workspace.at(ws), run=first.name, checkpoint=first / "checkpoints" / "step-0000020",
            export="v0001", metrics={"swd": 1.0}, reason="test")
    assert result.step == 20
    return ws


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
