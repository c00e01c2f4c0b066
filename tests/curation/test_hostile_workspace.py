"""A workspace from a stranger makes curate and export read nothing outside it (issue 22, item 7):
manifest paths out of raw/ (`../../`, absolute), symbolic links in raw/ (a file, a folder), a
FIFO, bytes that are not their sha256, a faces/ crop linked to a secret file and a catalog path
out of the workspace — through real `studio curate` and `studio export` processes.

Every file outside the workspace holds a face: had curate read one, it would have cropped it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from curation.catalog import open_catalog, open_sources
from tests.fixtures import face_scenes as fs
from tests.helpers import studio

pytestmark = [pytest.mark.slow, pytest.mark.cli]


def _line(sha: str, path: str, name: str) -> dict:
    return {"url": f"https://evil.example/{name}.jpg", "page_url": "https://evil.example/",
            "sha256": sha, "path": path}


@pytest.fixture(scope="module")
def hostile(fiftyone_db, tmp_path_factory):
    """A workspace with 3 honest faces and every hostile kind of source, curated once."""
    base = tmp_path_factory.mktemp("hostile")
    ws, secret = base / "ws", base / "secret"
    ws.mkdir()
    secret.mkdir()
    (ws / "studio.toml").write_text('[curate]\ndetector = "human"\n')
    rng = np.random.default_rng(11)
    honest = fs.write_raw(ws, [fs.scene_item(fs.face_scene(f"s{i}", i, rng, size=120)) for i in range(3)])
    faces = {name: fs.encode(fs.face_scene(name, 10 + i, rng, size=120).rgb)
             for i, name in enumerate(["up", "absolute", "linked", "in-linked-dir", "swapped", "fifo"])}
    sha = {name: hashlib.sha256(data).hexdigest() for name, data in faces.items()}
    for name, data in faces.items():
        (secret / f"{name}.jpg").write_bytes(data)
    raw = ws / "raw"
    lines = [_line(sha["up"], "../secret/up.jpg", "up"),  # ws/../secret: a face outside
             _line(sha["absolute"], str(secret / "absolute.jpg"), "absolute")]
    link = raw / sha["linked"][:2] / f"{sha['linked']}.jpg"  # a symbolic link to the face outside
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(secret / "linked.jpg")
    lines.append(_line(sha["linked"], str(link.relative_to(ws)), "linked"))
    (raw / "zz").symlink_to(secret)  # a folder of raw/ that is a link out
    lines.append(_line(sha["in-linked-dir"], "raw/zz/in-linked-dir.jpg", "in-linked-dir"))
    fake = raw / sha["swapped"][:2] / f"{sha['swapped']}.jpg"  # another picture under its name
    fake.parent.mkdir(exist_ok=True)
    fake.write_bytes(faces["up"])
    lines.append(_line(sha["swapped"], str(fake.relative_to(ws)), "swapped"))
    fifo = raw / sha["fifo"][:2] / f"{sha['fifo']}.jpg"  # would hang a reader that opens it
    fifo.parent.mkdir(exist_ok=True)
    os.mkfifo(fifo)
    lines.append(_line(sha["fifo"], str(fifo.relative_to(ws)), "fifo"))
    with open(raw / "manifest.jsonl", "a") as f:
        f.writelines(json.dumps(line) + "\n" for line in lines)
    proc = studio("curate", "-w", ws, "--no-progress", "--workers", "1", check=True, timeout=240)
    return {"ws": ws, "secret": secret, "sha": sha, "honest": honest, "proc": proc}


def test_curate_reads_nothing_outside_the_workspace(hostile):
    ws, sha = hostile["ws"], hostile["sha"]
    skipped = [ln for ln in hostile["proc"].stderr.splitlines() if ln.startswith("studio: skipped")]
    said = "\n".join(skipped)
    assert "refused: '../secret/up.jpg' is not a path inside raw/" in said
    assert f"refused: '{hostile['secret'] / 'absolute.jpg'}' is not a path inside raw/" in said
    assert f"refused: raw/{sha['linked'][:2]}/{sha['linked']}.jpg is a symbolic link" in said
    assert "refused: raw/zz is a symbolic link" in said
    assert "its bytes do not match its sha256" in said
    assert f"raw/{sha['fifo'][:2]}/{sha['fifo']}.jpg is not a regular file" in said
    assert len(skipped) == 6, hostile["proc"].stderr  # one line each
    status = dict(zip(*open_sources(ws).values(["sha256", "status"]), strict=True))
    assert [status[sha[n]] for n in ("up", "absolute", "linked", "in-linked-dir", "fifo")] == ["refused"] * 5
    assert status[sha["swapped"]] == "corrupt"
    # Only the 3 honest pictures gave crops; nothing recorded points out of the workspace.
    ds = open_catalog(ws)
    assert set(ds.values("source_sha256")) == {m["sha256"] for m in hostile["honest"]}
    for path in [*ds.values("filepath"), *open_sources(ws).values("filepath")]:
        assert Path(os.path.normpath(path)).is_relative_to(ws), path


def _honest_workspace(ws: Path, n: int = 3, seed: int = 5) -> list[dict]:
    ws.mkdir()
    (ws / "studio.toml").write_text('[curate]\ndetector = "human"\n')
    rng = np.random.default_rng(seed)
    return fs.write_raw(ws, [fs.scene_item(fs.face_scene(f"s{i}", i, rng, size=120)) for i in range(n)])


def test_a_refused_source_is_taken_once_its_link_is_replaced_by_the_file(fiftyone_db, tmp_path):
    """A refusal is not final: the next curate takes the source once its file is a real one."""
    ws = tmp_path / "ws"
    (line,) = _honest_workspace(ws, n=1)
    path = ws / line["path"]
    kept = tmp_path / "elsewhere.jpg"
    path.rename(kept)
    path.symlink_to(kept)
    first = studio("curate", "-w", ws, "--no-progress", "--workers", "1", check=True, timeout=240)
    assert "is a symbolic link" in first.stderr and not open_catalog(ws).count()
    path.unlink()
    kept.rename(path)  # the link replaced by the file itself
    again = studio("curate", "-w", ws, "--no-progress", "--workers", "1", check=True, timeout=240)
    assert "curated 1 new images" in again.stdout and not again.stderr.strip(), again
    assert set(open_catalog(ws).values("source_sha256")) == {line["sha256"]}


def test_a_linked_faces_folder_stops_curate_in_one_line(fiftyone_db, tmp_path):
    ws, outside = tmp_path / "ws", tmp_path / "outside"
    _honest_workspace(ws, n=1)
    outside.mkdir()
    (ws / "faces").mkdir()
    (ws / "faces" / "ab").symlink_to(outside)  # crops would be written out there
    proc = studio("curate", "-w", ws, "--no-progress", timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "faces/ab is a symbolic link" in proc.stderr
    assert not list(outside.iterdir())


def test_export_copies_no_link_and_no_path_out_of_the_workspace(fiftyone_db, tmp_path):
    from fiftyone import ViewField as F

    ws = tmp_path / "ws"
    _honest_workspace(ws, n=4)
    studio("curate", "-w", ws, "--no-progress", "--workers", "1", check=True, timeout=240)
    ds = open_catalog(ws)
    accepted = ds.match(F("decision") == "accepted")
    assert len(accepted) >= 3, ds.count_values("decision")
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\n")
    first = Path(accepted.values("filepath")[0])
    first.unlink()
    first.symlink_to(passwd)  # faces/aa/<sha>.png -> a secret file
    # The catalog itself names a file outside (edited in its database).
    ds.set_values("filepath", {accepted.values("id")[1]: str(passwd)}, key_field="id")

    proc = studio("export", "-w", ws, check=True, timeout=240)
    left = [ln for ln in proc.stderr.splitlines() if "not files of the workspace" in ln]
    assert len(left) == 1 and left[0].startswith("export left out 2 accepted crop(s)"), proc.stderr
    images = sorted((ws / "exports" / "v0001" / "images").iterdir())
    assert len(images) == len(accepted) - 2
    for image in images:
        assert not image.is_symlink() and image.is_file()
        data = image.read_bytes()
        assert hashlib.sha256(data).hexdigest() == image.stem and b"root:x:0" not in data
    stats = json.loads((ws / "exports" / "v0001" / "stats.json").read_text())
    assert stats["refused_crops"] == 2 and stats["images"] == len(images)
