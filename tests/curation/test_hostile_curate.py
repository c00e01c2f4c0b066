"""Curation under hostile and unlucky inputs (issue 12): a 64 Mpx photo in a worker of bounded
memory, an image that SIGKILLs its worker, a corrupt file repaired later — real processes."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from curation.catalog import open_sources
from curation.config import CurateConfig
from curation.run import curate
from tests.curation.killer_detector import POISON_SIZE
from tests.fixtures import face_scenes as fs
from tests.fixtures.big_photo import FACE_AT, FACE_SCALE, curate_alone, write_big_photo

KILLER = "tests.curation.killer_detector:factory"


@pytest.mark.slow
def test_a_64_megapixel_photo_is_curated_in_bounded_memory(tmp_path):
    photo = write_big_photo(tmp_path / "photo.jpg")  # 8000 x 8000, ~3 MB
    # The address-space cap keeps a regression from taking the machine: it fails instead.
    out = curate_alone(photo, tmp_path / "faces", as_limit_bytes=3 * 2**30)
    assert out["status"] == "ok", out
    # The child's own peak (VmHWM): 1128 MB on dev-cpu, alone or under a parent that peaked at
    # 1.7 GB (docs/benchmarks.md, the ≤ 1.5 GB aim). Its ru_maxrss would read the parent's peak
    # instead (Linux keeps ru_maxrss across the vfork + exec of subprocess): that was the
    # 1.62–1.65 GB seen late in the full suite, the pytest process's own peak. A regression fails
    # here: detection on 8 Mpx instead of 4 peaks at 1.92 GB, on the full 64 Mpx it hits the cap.
    assert out["peak_rss_mb"] <= 1536, out
    x0, y0 = FACE_AT
    side = 512 * FACE_SCALE  # the astronaut, planted at 4x: her face comes back in source pixels
    assert any(x0 < x < x0 + side and y0 < y < y0 + side and w > 200 for x, y, w, _ in out["bboxes"]), out


def _status(root) -> dict[str, tuple[str, str]]:
    src = open_sources(root)
    return {s: (st, e or "") for s, st, e in zip(*src.values(["sha256", "status", "error"]), strict=True)}


@pytest.mark.slow
def test_an_image_that_kills_its_worker_is_quarantined_and_the_rest_committed(fiftyone_db, tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    (root / "studio.toml").write_text(f"[curate]\ndetector = \"{KILLER}\"\n")
    rng = np.random.default_rng(3)
    items = [fs.scene_item(fs.face_scene(f"s{i}", i, rng, size=120)) for i in range(6)]
    poison = fs.background(*POISON_SIZE, rng)
    items.insert(2, ("https://bad.example/poison.jpg", fs.encode(poison), "https://bad.example/"))
    lines = fs.write_raw(root, items)
    poison_sha = lines[2]["sha256"]
    cfg = CurateConfig(detector=KILLER, workers=2)
    report = curate(root, cfg, progress=False)
    assert report.processed == 7 and report.crops >= 3, report  # the other six committed
    failed = [p for p in report.problems if p.startswith("failed")]
    assert len(failed) == 1 and "SIGKILL" in failed[0] and "quarantined" in failed[0], report.problems
    status = _status(root)
    assert status[poison_sha][0] == "failed" and "SIGKILL" in status[poison_sha][1]
    assert all(st in ("ok", "no_face") for sha, (st, _) in status.items() if sha != poison_sha), status
    again = curate(root, cfg, progress=False)  # the quarantined image is not tried again
    assert again.processed == 0 and again.skipped == 7


@pytest.mark.slow
def test_a_corrupt_file_is_tried_again_once_repaired(fiftyone_db, tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    (root / "studio.toml").write_text("[curate]\ndetector = \"human\"\n")
    rng = np.random.default_rng(5)
    scene = fs.face_scene("s0", 0, rng, size=120)
    good = fs.encode(scene.rgb)
    line = fs.write_raw(root, [("https://faces.example/img/s0.jpg", good, "https://faces.example/")])[0]
    path = root / line["path"]
    path.write_bytes(good[: len(good) // 3])  # damaged on disk after the crawl (a torn copy)
    cfg = CurateConfig(detector="human", workers=1)
    first = curate(root, cfg, progress=False)
    assert first.processed == 1 and _status(root)[line["sha256"]][0] == "corrupt"
    assert curate(root, cfg, progress=False).processed == 0  # unchanged: not retried
    time.sleep(0.05)
    path.write_bytes(good)  # repaired (e.g. copied again)
    later = time.time() + 1
    os.utime(path, (later, later))
    repaired = curate(root, cfg, progress=False)
    assert repaired.processed == 1 and _status(root)[line["sha256"]][0] == "ok", repaired


@pytest.mark.slow
def test_a_scan_bomb_is_refused_unread_and_a_progressive_jpeg_curated(fiftyone_db, tmp_path):
    """A JPEG of 3,000 progressive scans (18 s to decode; issue 22's took 209 s in curate) is
    refused on its markers; a progressive JPEG as encoders write it (10 scans) is curated."""
    import io

    from PIL import Image

    from tests.fixtures.scan_bomb import scan_bomb

    root = tmp_path / "ws"
    root.mkdir()
    (root / "studio.toml").write_text("[curate]\ndetector = \"human\"\n")
    scene = fs.face_scene("s0", 0, np.random.default_rng(5), size=120)
    buf = io.BytesIO()
    Image.fromarray(scene.rgb).save(buf, "JPEG", quality=92, progressive=True)
    good, bomb = fs.write_raw(root, [("https://faces.example/img/s0.jpg", buf.getvalue(), "https://faces.example/"),
                                     ("https://bad.example/bomb.jpg", scan_bomb(2000, 3000), "https://bad.example/")])
    report = curate(root, CurateConfig(detector="human", workers=1), progress=False)
    status = _status(root)
    assert status[good["sha256"]][0] == "ok" and report.crops >= 1, report
    assert status[bomb["sha256"]][0] == "corrupt", status
    (problem,) = report.problems
    assert "over 100 scans of 2000×2000 pixels" in problem and "\n" not in problem, problem
