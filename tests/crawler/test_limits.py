"""Command-line limits and allowed domains, through the real engine."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.crawler.conftest import make_workspace, run_crawl
from tests.fixtures.crawl_site import serve_crawl_site

pytestmark = pytest.mark.cli


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    with serve_crawl_site(tmp_path_factory.mktemp("limits")) as s:
        yield s


def test_max_images_stops_the_crawl(sites, tmp_path):
    run = run_crawl(make_workspace(tmp_path / "ws"), "--url", sites.main.url, "--max-images", "3")
    assert run.returncode == 0, run.stderr
    assert run.stats["stored"] == 3 and run.stats["finish_reason"] == "max_images"
    assert run.stdout.splitlines()[-1].startswith("stopped at max_images=3; ")
    assert len({m["sha256"] for m in run.manifest}) == 3


def test_depth_limits_link_following(sites, tmp_path):
    n = len(sites.main.requests)
    run = run_crawl(make_workspace(tmp_path / "ws"), "--url", sites.main.url, "--depth", "1")
    assert run.returncode == 0, run.stderr
    asked = {r.path for r in sites.main.requests[n:]}
    # Pagination (rel=next) keeps the depth of its page: the whole gallery is depth 1.
    assert {"/gallery/page-1.html", "/gallery/page-2.html", "/gallery/page-3.html"} <= asked
    assert "/missing.html" not in asked and "/index.html" not in asked  # depth 2 (hostile, people)
    assert "/media/people/group-1.jpg" in asked  # images of depth-1 pages are still fetched
    assert run.stats["links_too_deep"] >= 2
    assert "raise [crawl] depth" in run.stdout.splitlines()[-1]


def test_max_pages(sites, tmp_path):
    run = run_crawl(make_workspace(tmp_path / "ws"), "--url", sites.main.url, "--max-pages", "2")
    assert run.returncode == 0, run.stderr
    assert run.stats["pages"] <= 2


def test_allowed_cdn_host_is_fetched(sites, tmp_path):
    run = run_crawl(make_workspace(tmp_path / "ws"), "--url", sites.main.url, "--allow-domain", "127.0.0.2",
                    "--depth", "1")
    assert run.returncode == 0, run.stderr
    urls = {m["url"] for m in run.manifest}
    assert f"{sites.offsite.url}cdn/face.jpg" in urls
    # The redirect to it is allowed now, but its target URL was already fetched: asked once.
    assert [r.path for r in sites.offsite.requests if r.path == "/cdn/face.jpg"] == ["/cdn/face.jpg"]
    assert not any(urlsplit(u).path == "/media/extra/redirect-offsite.jpg" for u in urls)
