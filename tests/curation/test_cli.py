"""The studio commands of curation, run as a user runs them (subprocesses, shared database);
one-line errors in-process."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request

import pytest

from tests.curation.conftest import make_workspace
from tests.helpers import free_port, start_studio, studio, studio_in_process


@pytest.mark.cli
def test_curate_status_labels_export_from_the_command_line(fiftyone_db, tmp_path):
    ws = tmp_path / "ws"
    make_workspace(ws)
    out = studio("curate", "-w", str(ws), "--no-progress", check=True)
    assert "curated 15 new images" in out.stdout
    assert "skipped corrupt" in out.stderr and "skipped missing" in out.stderr
    status = json.loads(studio("status", "-w", str(ws), "--json", check=True).stdout)
    f = status["funnel"]
    assert f["crawled"] == 15 and f["accepted"] > 0 and "faces.example" in f["per_domain"]
    labels = tmp_path / "labels.csv"
    labels.write_text("sha256,label\nnot-a-hash,accept\n" + "a" * 64 + ",reject\n")
    out = studio("labels", "import", str(labels), "-w", str(ws), check=True)
    assert "applied 0 labels (1 bad rows, 1 unknown hashes)" in out.stdout
    assert "line 2" in out.stderr
    assert "wrote 0 labels" in studio("labels", "export", str(tmp_path / "o.csv"), "-w", str(ws), check=True).stdout
    out = studio("export", "-w", str(ws), check=True)
    assert "exported" in out.stdout and (ws / "exports" / "v0001" / "manifest.jsonl").is_file()


def test_missing_anime_cascade_is_one_clear_line(fiftyone_db, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "studio.toml").write_text("")
    proc = studio_in_process("curate", "-w", str(ws), "--cascade", str(tmp_path / "no.xml"))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "cascade file not found" in proc.stderr


@pytest.mark.cli
def test_first_run_curates_offline_with_the_default_detector(fiftyone_db, tmp_path):
    """README's first run: `studio init` then `studio curate`, no --cascade, an empty cache dir
    and no network: the anime cascade shipped in the package finds the drawn faces."""
    import numpy as np

    from tests.fixtures.anime_scenes import composite, drawn_face
    from tests.fixtures.face_scenes import encode, write_raw

    ws = tmp_path / "ws"
    studio("init", "-w", str(ws), check=True)
    assert 'detector = "anime"' in (ws / "studio.toml").read_text()
    rng = np.random.default_rng(4)
    items = []
    for i in range(3):
        scene = composite(np.full((320, 320, 3), 120, np.uint8), drawn_face(rng, 160), 80, 80)
        items.append((f"https://art.example/{i}.png", encode(scene, "PNG"), "https://art.example/"))
    write_raw(ws, items)
    proc = studio("curate", "-w", str(ws), "--no-progress", timeout=240,
                      env={"GAN_STUDIO_CACHE_DIR": str(tmp_path / "empty-cache")})
    assert proc.returncode == 0, proc.stderr
    assert "curated 3 new images" in proc.stdout
    faces = int(proc.stdout.split("curated 3 new images")[1].split(" faces")[0].rsplit(" ", 1)[-1])
    assert faces >= 1, proc.stdout
    assert not (tmp_path / "empty-cache" / "detectors").exists()  # nothing fetched or copied


@pytest.mark.server
@pytest.mark.cli
def test_label_serves_the_fiftyone_app_on_localhost(fiftyone_db, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "studio.toml").write_text("")
    port = free_port()
    proc = start_studio("label", "-w", str(ws), "--port", port, stderr=subprocess.STDOUT)
    try:
        deadline, body = time.time() + 90, ""
        while time.time() < deadline and not body:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
                    body = resp.read().decode("utf-8", "replace")
            except OSError:
                time.sleep(1)
        assert "<html" in body.lower()
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert f"http://127.0.0.1:{port}/" in output
    # FiftyOne's notices about options it sets itself, and polling a standalone MongoDB: gone.
    assert "has been removed" not in output and "change stream" not in output
