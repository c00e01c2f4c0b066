"""End to end: `studio crawl` through the real Scrapy engine against the local test site."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.crawler.conftest import make_workspace, run_crawl
from tests.fixtures.crawl_site import (
    EXTRA_STORED,
    NEVER_REQUESTED,
    NOT_FOUND,
    REJECTED,
    STORED,
    add_new_image,
    serve_crawl_site,
)

pytestmark = pytest.mark.cli

MANIFEST_FIELDS = {
    "url", "page_url", "sha256", "path", "width", "height", "bytes", "content_type", "fetched_at", "alt",
}


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """One full crawl, a re-crawl, then a crawl after one new image was linked."""
    tmp = tmp_path_factory.mktemp("crawl")
    ws = make_workspace(tmp / "ws")
    with serve_crawl_site(tmp) as sites:
        first = run_crawl(ws, "--url", sites.main.url)
        first_requests = list(sites.main.requests)
        first_manifest = first.manifest
        n = len(sites.main.requests)
        second = run_crawl(ws, "--url", sites.main.url)
        second_requests = sites.main.requests[n:]
        new_path = add_new_image(sites.root)
        n = len(sites.main.requests)
        third = run_crawl(ws, "--url", sites.main.url)
        third_requests = sites.main.requests[n:]
        yield {
            "sites": sites, "ws": ws, "first": first, "first_requests": first_requests,
            "first_manifest": first_manifest, "second": second, "second_requests": second_requests,
            "third": third, "third_requests": third_requests, "new_path": new_path,
        }


def paths_of(manifest):
    return sorted(urlsplit(m["url"]).path for m in manifest)


def test_crawl_exits_cleanly(crawled):
    first = crawled["first"]
    assert first.returncode == 0, first.stderr
    assert "images stored" in first.stdout
    assert "crawl:" in first.stderr  # the progress line


def test_stores_every_expected_image_once(crawled):
    manifest = crawled["first_manifest"]
    assert paths_of(manifest) == STORED
    assert len({m["url"] for m in manifest}) == len(manifest)


def test_manifest_lines_follow_the_contract(crawled):
    ws: Path = crawled["ws"]
    for m in crawled["first_manifest"]:
        assert set(m) == MANIFEST_FIELDS
        file = ws / m["path"]
        assert m["path"] == f"raw/{m['sha256'][:2]}/{m['sha256']}.{file.suffix[1:]}"
        assert file.stat().st_size == m["bytes"]
        assert m["fetched_at"].endswith("Z") and m["width"] >= 64 and m["height"] >= 64
        assert m["content_type"].startswith("image/")


def test_bytes_are_stored_as_served(crawled):
    root = crawled["sites"].root
    ws = crawled["ws"]
    by_url = {urlsplit(m["url"]).path: m for m in crawled["first_manifest"]}
    assert (ws / by_url["/media/cat.jpg"]["path"]).read_bytes() == (root / "media/cat.jpg").read_bytes()
    moved = by_url["/media/extra/moved.jpg"]  # recorded under the URL found on the page
    assert (ws / moved["path"]).read_bytes() == (root / "media/extra/moved-target.jpg").read_bytes()
    assert by_url["/media/people/group-3.webp"]["path"].endswith(".webp")
    assert by_url["/media/cat.jpg"]["alt"] == "the cat"  # og:image:alt
    assert by_url["/media/people/portrait-1.jpg"]["page_url"].endswith("/people.html")


def test_duplicates_stored_once(crawled):
    manifest = {urlsplit(m["url"]).path: m for m in crawled["first_manifest"]}
    a, b = manifest["/media/extra/dup-a.jpg"], manifest["/media/extra/dup-b.jpg"]
    assert a["sha256"] == b["sha256"] and a["path"] == b["path"]
    files = list((crawled["ws"] / "raw").glob("*/*.*"))
    assert len(files) == len({m["sha256"] for m in crawled["third"].manifest})  # after all crawls
    assert crawled["first"].stats["duplicates"] == 1
    assert not list((crawled["ws"] / "raw").glob("*/.*.tmp"))


def test_rejections_counted_with_reasons(crawled):
    stats = crawled["first"].stats
    expected = {}
    for reason in REJECTED.values():
        expected[reason] = expected.get(reason, 0) + 1
    expected["unsupported_format"] = 1  # logo.svg, skipped by extension
    assert stats["rejected"] == expected
    requested = {r.path for r in crawled["first_requests"]}
    assert set(REJECTED) <= requested  # downloaded, then rejected


def test_never_requested(crawled):
    requested = {r.path for r in crawled["first_requests"]}
    for path in NEVER_REQUESTED:
        assert path not in requested, path
    assert crawled["sites"].offsite.requests == []  # not pages, not images, not redirect targets
    stats = crawled["first"].stats
    assert stats["robots_forbidden"] >= 2  # /private/index.html and /private/linked.jpg
    assert stats["images_offsite"] == 1  # the CDN image, never requested
    assert stats["offsite_filtered"] >= 2  # both redirects to 127.0.0.2


def test_retries_and_not_found(crawled):
    sites = crawled["sites"]
    flaky = [r.status for r in crawled["first_requests"] if r.path == "/media/extra/flaky.jpg"]
    assert flaky == [503, 503, 200]
    page = [r.status for r in crawled["first_requests"] if r.path == "/hostile.html"]
    assert page == [503, 200]
    for path in NOT_FOUND:
        assert [r.status for r in crawled["first_requests"] if r.path == path] == [404]
    stats = crawled["first"].stats
    assert stats["failed_images"].get("http_404") == 1
    assert stats["failed_pages"].get("http_404") == 1
    assert stats["retries"] == 3
    assert sites.main.requested("/media/extra/redirect-ftp.jpg")  # asked, redirect not followed


def test_polite_identity(crawled):
    agents = {r.headers.get("User-Agent") for r in crawled["first_requests"]}
    assert len(agents) == 1
    (agent,) = agents
    assert "GANStudio" in agent and "https://" in agent
    assert crawled["first_requests"][0].path == "/robots.txt"


def test_stats_json(crawled):
    stats = crawled["first"].stats
    assert stats["finish_reason"] == "finished"
    assert stats["stored"] == len({m["sha256"] for m in crawled["first_manifest"]})
    assert stats["pages"] == 8  # index, 3 gallery pages, people, about, hostile, index.html
    assert stats["domains"]["127.0.0.1"]["stored"] == stats["stored"]
    assert stats["bytes_stored"] > 0 and stats["duration_s"] > 0
    assert not (crawled["ws"] / "crawl" / "job").exists()  # finished: nothing to resume


def test_recrawl_downloads_nothing_new(crawled):
    second = crawled["second"]
    assert second.returncode == 0, second.stderr
    stats = second.stats
    assert stats["stored"] == 0 and stats["images_downloaded"] == 0
    assert stats["images_known"] == len(STORED) + len(REJECTED)
    # Known images are not asked for again; only URLs that never gave an image (404, redirects).
    image_requests = [r for r in crawled["second_requests"] if r.path.startswith(("/media/", "/new/"))]
    assert image_requests and all(r.status in (301, 302, 404) for r in image_requests)
    pages = [r for r in crawled["second_requests"] if r.path.endswith(".html") or r.path == "/"]
    assert pages and all(r.status in (304, 404, 503) for r in pages)  # conditional requests
    assert any("If-None-Match" in r.headers for r in pages)


def test_incremental_crawl_fetches_only_the_new_image(crawled):
    third = crawled["third"]
    assert third.returncode == 0, third.stderr
    images = [r.path for r in crawled["third_requests"] if r.status == 200 and r.path.startswith(("/media/", "/new/"))]
    assert images == [crawled["new_path"]]
    assert third.stats["stored"] == 1
    assert paths_of(third.manifest) == sorted([*STORED, crawled["new_path"]])


def test_extra_stored_cases_are_listed():
    assert set(EXTRA_STORED) <= set(STORED)
