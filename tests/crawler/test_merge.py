"""`studio merge` on hand-made worker workspaces: verified copies, crafted lines refused, idempotent."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.store import RawStore
from tests.crawler.conftest import REPO, make_workspace, read_manifest
from tests.crawler.test_workspace_safety import check_raw_matches_manifest
from tests.fixtures.gallery_site import _jpeg

pytestmark = pytest.mark.cli


def merge(target: Path, *sources: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "studio", "merge", "-w", str(target), *map(str, sources)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def store(ws: Path, url: str, data: bytes) -> dict:
    raw = RawStore(ws / "raw")
    sha, path, _ = raw.put(data, "jpg")
    line = {"url": url, "page_url": "http://127.0.0.1/", "sha256": sha, "path": path, "width": 96,
            "height": 96, "bytes": len(data), "content_type": "image/jpeg", "fetched_at": "2026-01-01T00:00:00Z",
            "alt": ""}
    raw.manifest.append(line)
    return line


def test_merge_copies_verifies_and_refuses_crafted_lines(tmp_path):
    a, b, main = (make_workspace(tmp_path / n) for n in ("a", "b", "main"))
    store(a, "http://127.0.0.1/1.jpg", _jpeg(1))
    store(a, "http://127.0.0.1/2.jpg", _jpeg(2))
    shared = _jpeg(3)
    store(a, "http://127.0.0.1/3.jpg", shared)
    store(b, "http://127.0.0.1/3b.jpg", shared)  # same bytes, other URL: one file, two lines
    store(b, "http://127.0.0.1/1.jpg", _jpeg(1))  # the same URL in both: one line
    tampered = store(b, "http://127.0.0.1/4.jpg", _jpeg(4))
    (b / tampered["path"]).write_bytes(_jpeg(5))  # bytes no longer match the name
    with open(b / "raw" / "manifest.jsonl", "a") as f:
        f.write(json.dumps({**tampered, "url": "http://127.0.0.1/x.jpg", "path": "../../escape.jpg"}) + "\n")
        f.write(json.dumps({"url": "http://127.0.0.1/y.jpg", "sha256": "00" * 32}) + "\n")
    (a / "crawl").mkdir(exist_ok=True)
    (a / "crawl" / "rejected.jsonl").write_text(json.dumps({"url": "http://127.0.0.1/bad.jpg", "reason": "svg"}) + "\n")

    first = merge(main, a, b)
    assert first.returncode == 0, first.stderr
    urls = sorted(m["url"].rsplit("/", 1)[1] for m in read_manifest(main))
    assert urls == ["1.jpg", "2.jpg", "3.jpg", "3b.jpg"]
    check_raw_matches_manifest(main)
    assert len(list((main / "raw").glob("*/*.jpg"))) == 3
    assert not (tmp_path / "escape.jpg").exists() and not list(tmp_path.glob("**/escape.jpg"))
    assert "3 bad lines skipped" in first.stdout  # tampered bytes, escaping path (same bytes), missing fields
    assert (main / "crawl" / "rejected.jsonl").read_text().count("bad.jpg") == 1

    again = merge(main, a, b)
    assert again.returncode == 0 and "0 manifest lines added" in again.stdout and "0 rejections" in again.stdout
    assert len(read_manifest(main)) == 4


def test_merge_user_errors_are_one_line(tmp_path):
    main = make_workspace(tmp_path / "main")
    for args, message in (([main], "into itself"), ([tmp_path / "nope"], "no workspace")):
        run = merge(main, *args)
        lines = run.stderr.strip().splitlines()
        assert run.returncode == 2 and len(lines) == 1 and message in lines[0], run.stderr


def test_merged_files_are_the_workers_bytes(tmp_path):
    a, main = make_workspace(tmp_path / "a"), make_workspace(tmp_path / "main")
    line = store(a, "http://127.0.0.1/1.jpg", _jpeg(7))
    assert merge(main, a).returncode == 0
    data = (main / read_manifest(main)[0]["path"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == line["sha256"] == read_manifest(main)[0]["sha256"]
