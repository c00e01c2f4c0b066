"""A URL with a user name and password in it (issue 22, item 10): the crawler never sends
credentials and never writes them anywhere. A start URL with them is a one-line error before
anything is fetched (it used to log a traceback, with the password, from robots.txt handling); a
link or image with them on a page is skipped and counted like a malformed URL. Real Scrapy
engine in a child process against a 127.0.0.1 site."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.demo.server import serve
from tests.crawler.conftest import run_crawl
from tests.crawler.minisite import build_mini_site

pytestmark = pytest.mark.cli

PASSWORD = "s3cret-Pw"


def _mentions(root: Path, text: str) -> list[str]:
    """Every file under `root` whose bytes contain `text`."""
    return [str(p) for p in root.rglob("*") if p.is_file() and text.encode() in p.read_bytes()]


def test_a_start_url_with_credentials_is_one_line_that_hides_the_password(workspace, tmp_path):
    build_mini_site(tmp_path / "site")
    with serve(tmp_path / "site") as site:
        url = site.url.replace("http://", f"http://artist:{PASSWORD}@")
        run = run_crawl(workspace, "--url", url)
        asked = list(site.requests)
    assert run.returncode == 2, (run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("studio: error: "), run.stderr
    assert "user name or password" in lines[0] and "***@127.0.0.1" in lines[0], lines[0]
    assert PASSWORD not in run.stderr + run.stdout and "Traceback" not in run.stderr
    assert not asked  # refused before any request
    assert not _mentions(workspace, PASSWORD)


def test_links_and_images_with_credentials_on_a_page_are_skipped_not_sent(workspace, tmp_path):
    root = build_mini_site(tmp_path / "site")
    with serve(root) as site:
        secret = site.url.replace("http://", f"http://artist:{PASSWORD}@")
        (root / "index.html").write_text(
            '<html><body><img src="/img/0.jpg"><img src="/img/1.jpg">'
            f'<img src="{secret}img/2.jpg"><a href="{secret}two.html">two</a></body></html>')
        run = run_crawl(workspace, "--url", site.url)
        asked = list(site.requests)
    assert run.returncode == 0, run.stderr
    assert {line["url"].rsplit("/", 1)[-1] for line in run.manifest} == {"0.jpg", "1.jpg"}
    assert run.stats["malformed_urls"] == 2
    assert not any("authorization" in {k.lower() for k in r.headers} for r in asked)
    assert "/img/2.jpg" not in {r.path for r in asked}
    log = next(workspace.glob("crawl/*/crawl.log")).read_text()
    assert "Traceback" not in log and "***@127.0.0.1" in log
    # The page itself, as the site served it, is in the HTTP cache; nothing we wrote has it.
    assert not [p for p in _mentions(workspace, PASSWORD) if "/httpcache/" not in p]
