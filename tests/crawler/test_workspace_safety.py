"""A workspace from someone else runs no code; a full or read-only disk stops the crawl honestly.

Crafted pickles sit exactly where stock Scrapy would unpickle them (JOBDIR `spider.state`, the
disk request queues, the HTTP cache's `pickled_meta` / `response_data`); each would create a
marker file when unpickled. The disk tests mount a tiny tmpfs (root only; skipped otherwise).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from queuelib.queue import FifoDiskQueue

from studio.demo.server import serve
from tests.crawler.conftest import make_workspace, read_manifest, run_crawl
from tests.crawler.minisite import build_mini_site
from tests.fixtures.crawl_site import serve_crawl_site


class TouchOnLoad:
    """Unpickling this opens (creates) `path`: proof that a pickle from disk was loaded."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def plant_pickles(ws: Path, url: str, marker: Path) -> list[Path]:
    from scrapy import Request
    from scrapy.pqueues import _path_safe
    from scrapy.utils.request import fingerprint

    evil = pickle.dumps(TouchOnLoad(marker), protocol=4)
    job = ws / "crawl" / "job"
    job.mkdir(parents=True)
    # A job our crawl resumes: same format, start URLs and hosts.
    (job / "studio-job.json").write_text(json.dumps(
        {"format": 2, "start_urls": [url], "allowed_domains": ["127.0.0.1"]}))
    planted = [job / "spider.state"]
    planted[0].write_bytes(evil)
    dq = job / "requests.queue"
    dq.mkdir()
    (dq / "active.json").write_text(json.dumps({"127.0.0.1": [0]}))
    for name in ("0", "0s"):  # the slot's queue and its start queue
        q = FifoDiskQueue(str(dq / _path_safe("127.0.0.1") / name))
        q.push(evil)
        q.close()
        planted.append(dq / _path_safe("127.0.0.1") / name)
    key = fingerprint(Request(url)).hex()
    cache = ws / "crawl" / "httpcache" / "images" / key[:2] / key
    cache.mkdir(parents=True)
    for name in ("pickled_meta", "response_data"):
        (cache / name).write_bytes(evil)
        planted.append(cache / name)
    (cache / "response_body").write_bytes(b"<html></html>")
    (cache / "response_headers").write_bytes(b"Content-Type: text/html\r\n")
    return planted


@pytest.mark.cli
def test_crafted_pickles_never_run(tmp_path):
    marker = tmp_path / "PWNED"
    root = build_mini_site(tmp_path / "site")
    ws = make_workspace(tmp_path / "ws")
    with serve(root) as site:
        plant_pickles(ws, site.url, marker)
        run = run_crawl(ws, "--url", site.url)
    assert not marker.exists(), "a pickle from the workspace was loaded"
    assert run.returncode == 0, run.stderr
    assert run.stats["resumed"] is True and run.stats["job_bad_entries"] >= 1  # read, refused
    assert run.stats["stored"] == 3  # and the crawl did its job


@pytest.mark.cli
def test_the_planted_pickles_would_run_in_stock_scrapy(tmp_path):
    """The test above can fail: the same spider.state through Scrapy's SpiderState runs code."""
    marker = tmp_path / "PWNED"
    plant_pickles(tmp_path / "ws", "http://127.0.0.1:9/", marker)
    code = ("import sys, types; from scrapy.extensions.spiderstate import SpiderState; "
            "s = SpiderState(sys.argv[1]); s.spider_opened(types.SimpleNamespace())")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "ws" / "crawl" / "job")], check=True)
    assert marker.exists()


def test_stored_request_codec_refuses_classes_and_foreign_callbacks():
    from crawler import redis_codec

    ok = {"url": "http://127.0.0.1/", "callback": "parse", "errback": "page_failed"}
    assert redis_codec.loads(redis_codec.dumps(ok))["url"] == ok["url"]
    for bad in ({**ok, "_class": "os.system"}, {**ok, "callback": "__init__"}, {"url": 3}, [1]):
        with pytest.raises(ValueError):
            redis_codec.loads(json.dumps(bad).encode())


# --- full and read-only disks ---------------------------------------------------------------

@pytest.fixture
def tiny_fs(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mnt)],
                                           capture_output=True).returncode:
        pytest.skip("needs root to mount a small tmpfs")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def check_raw_matches_manifest(ws: Path) -> list[dict]:
    manifest = read_manifest(ws)
    for m in manifest:
        data = (ws / m["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == m["sha256"] and len(data) == m["bytes"]
    files = {p.stem for p in (ws / "raw").glob("*/*.*")}
    assert files == {m["sha256"] for m in manifest}
    assert not list((ws / "raw").glob("*/.*.tmp"))
    return manifest


@pytest.mark.cli
def test_full_disk_stops_with_one_line_and_counts_only_written_images(tmp_path, tiny_fs):
    ws = make_workspace(tiny_fs / "ws")
    with serve_crawl_site(tmp_path) as sites:
        run = run_crawl(ws, "--url", sites.main.url)
    assert run.returncode == 2, (run.stdout, run.stderr)
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("studio: error: cannot write ") and "No space left on device" in last, run.stderr
    assert str(tiny_fs) in last and "Traceback" not in run.stderr
    assert "finished" not in run.stdout
    manifest = check_raw_matches_manifest(ws)
    assert f"after storing {len({m['sha256'] for m in manifest})} images" in last


@pytest.mark.cli
def test_read_only_workspace_is_one_line(tmp_path, tiny_fs):
    ws = make_workspace(tiny_fs / "ws")
    (ws / ".locks").mkdir(exist_ok=True)
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_fs)], check=True)
    run = run_crawl(ws, "--url", "http://127.0.0.1:9/")
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("studio: error:") and "Read-only file system" in lines[0], lines
    assert str(tiny_fs) in lines[0]
