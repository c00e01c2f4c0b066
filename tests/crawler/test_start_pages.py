"""A crawl whose start pages all fail is an error that says what failed (issue 21, item 2):
a dead host, a closed port, an HTTP error, robots.txt. One line on stderr, exit status 2.

Everything is local: 127.0.0.1 servers, a closed port, and `nosuchhost.invalid` (RFC 6761: the
.invalid domain never resolves, so the lookup fails at once).
"""

from __future__ import annotations

import pytest

from studio.demo.server import Route, serve
from tests.crawler.conftest import run_crawl
from tests.helpers import free_port

pytestmark = pytest.mark.cli

PAGE = b"<html><body><p>no images here</p></body></html>"


def assert_one_error_line(run, *fragments: str) -> str:
    assert run.returncode == 2, (run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("studio: error: no start page could be fetched"), run.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in run.stderr and "finished" not in run.stdout
    return lines[0]


def test_an_unknown_host_is_a_dns_error(workspace):
    run = run_crawl(workspace, "--url", "http://nosuchhost.invalid/")
    assert_one_error_line(run, "http://nosuchhost.invalid/", "DNS lookup failed for nosuchhost.invalid")
    # The crawl's record stays, saying the same thing.
    assert run.stats["end"].startswith("failed: no start page could be fetched")
    assert run.stats["start_pages"] != {} and run.stats["pages"] == 0


def test_a_closed_port_is_connection_refused(workspace):
    url = f"http://127.0.0.1:{free_port()}/"
    assert_one_error_line(run_crawl(workspace, "--url", url), url, "connection refused by 127.0.0.1")


def test_robots_ignored_shows_the_page_s_own_failure(tmp_path):
    from tests.crawler.conftest import make_workspace

    ws = make_workspace(tmp_path / "ws", obey_robots="false")
    run = run_crawl(ws, "--url", "http://nosuchhost.invalid/gallery/")
    line = assert_one_error_line(run, "DNS lookup failed for nosuchhost.invalid")
    assert "robots" not in line


@pytest.mark.parametrize(
    ("routes", "path", "words"),
    [
        ({}, "/missing/", "HTTP 404"),
        ({"/gallery/": Route(status=500, body=b"oops")}, "/gallery/", "HTTP 500"),
        ({"/robots.txt": Route(body=b"User-agent: *\nDisallow: /gallery/\n")}, "/gallery/",
         "disallowed by robots.txt"),
        ({"/robots.txt": Route(status=503, body=b"down")}, "/gallery/",
         "robots.txt answered HTTP 503"),
    ],
    ids=["404", "500", "robots-disallow", "robots-503"],
)
def test_an_http_or_robots_failure_says_which(workspace, tmp_path, routes, path, words):
    (tmp_path / "site" / "gallery").mkdir(parents=True)
    (tmp_path / "site" / "gallery" / "index.html").write_bytes(PAGE)
    with serve(tmp_path / "site", routes=routes) as site:
        run = run_crawl(workspace, "--url", site.url + path.lstrip("/"))
    assert_one_error_line(run, site.url + path.lstrip("/"), words)


def test_every_start_page_failing_is_named(workspace):
    dead = f"http://127.0.0.1:{free_port()}/"
    line = assert_one_error_line(run_crawl(workspace, "--url", dead, "--url", "http://nosuchhost.invalid/"))
    assert dead in line and "connection refused" in line and "DNS lookup failed" in line


def test_one_live_start_page_is_enough(workspace, tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_bytes(PAGE)
    with serve(tmp_path / "site") as site:
        run = run_crawl(workspace, "--url", site.url, "--url", site.url + "missing/")
    assert run.returncode == 0, run.stderr
    assert run.stats["start_pages"] == {site.url: "ok", site.url + "missing/": "http_404"}
    assert run.stats["end"].startswith("finished")
