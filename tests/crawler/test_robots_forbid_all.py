"""robots.txt `Disallow: /` (issue 22, item 10) ends the crawl with one line naming robots.txt and
exit status 2, never "finished: every page reachable … was crawled": when it forbids the start
pages, and when it forbids everything a resumed crawl had left in its queue (a resumed crawl does
not ask for its start pages again). Real Scrapy engine in a child process, 127.0.0.1 sites."""

from __future__ import annotations

import subprocess
import time

import pytest

from studio.demo.server import serve
from tests.crawler.conftest import REPO, latest_stats, read_manifest, run_crawl, studio_cmd
from tests.crawler.minisite import build_mini_site
from tests.fixtures.gallery_site import _jpeg

pytestmark = pytest.mark.cli

FORBID_ALL = "User-agent: *\nDisallow: /\n"


def assert_robots_error(run) -> str:
    assert run.returncode == 2, (run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("studio: error: "), run.stderr
    assert "robots.txt" in lines[0] and "obey_robots" in lines[0], lines[0]
    assert "site is up" not in lines[0]  # it is up: it says no
    assert "Traceback" not in run.stderr and "finished" not in run.stdout
    assert run.stats["end"].startswith("failed:") and "robots.txt" in run.stats["end"]
    return lines[0]


def test_robots_forbidding_the_start_pages_is_an_error_naming_it(workspace, tmp_path):
    build_mini_site(tmp_path / "site", robots=FORBID_ALL)
    with serve(tmp_path / "site") as site:
        run = run_crawl(workspace, "--url", site.url, "--url", site.url + "two.html")
        asked = {r.path for r in site.requests}
    line = assert_robots_error(run)
    assert site.url in line and site.url + "two.html" in line and "disallowed by robots.txt" in line
    assert asked == {"/robots.txt"}
    assert run.manifest == []


def _many_pages(root, n: int = 80):
    """A listing of `n` pages, each with its own image."""
    (root / "img").mkdir(parents=True)
    links = []
    for i in range(n):
        (root / "img" / f"{i}.jpg").write_bytes(_jpeg(2000 + i))
        (root / f"p{i}.html").write_text(f'<html><body><img src="/img/{i}.jpg"></body></html>')
        links.append(f'<a href="p{i}.html">{i}</a>')
    (root / "index.html").write_text("<html><body>" + "".join(links) + "</body></html>")
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    return root


def test_a_resumed_crawl_that_robots_now_forbids_is_an_error_naming_it(workspace, tmp_path):
    root = _many_pages(tmp_path / "site")
    with serve(root, delay_s=0.5) as site:
        proc = subprocess.Popen(studio_cmd(workspace, "--url", site.url), cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not read_manifest(workspace) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, "the crawl ended before it could be interrupted"
        proc.terminate()
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert (workspace / "crawl" / "job").is_dir()
        assert latest_stats(workspace)["requests_left"] > 0  # the queue still holds work
        stored = len(read_manifest(workspace))
        # The site now says no to everything; the queue still holds pages and images.
        (root / "robots.txt").write_text(FORBID_ALL)
        site.delay_s = 0
        run = run_crawl(workspace, "--url", site.url)
    assert run.stats["resumed"] is True
    line = assert_robots_error(run)
    assert "forbade everything" in line and site.url.rstrip("/").split("//")[1].split(":")[0] in line
    assert len(read_manifest(workspace)) == stored  # nothing lost, nothing new
