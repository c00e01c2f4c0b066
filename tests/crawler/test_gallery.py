"""A real gallery crawled whole: 52 pages of pagination, a CDN host, a sitemap, CSS backgrounds.

Default limits and depth (only politeness lowered, against our own loopback servers, and the
image host given as a user would: `--image-domain 127.0.0.2`). Three hosts: 127.0.0.1 pages,
127.0.0.2 images, 127.0.0.3 someone else's, never contacted.
"""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlsplit

import pytest

from tests.crawler.conftest import make_workspace, run_crawl
from tests.fixtures.gallery_site import LISTING_PAGES, ORPHAN_POSTS, serve_gallery

pytestmark = pytest.mark.cli


@pytest.fixture(scope="module")
def gallery(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gallery")
    with serve_gallery(tmp) as sites:
        ws = make_workspace(tmp / "ws")
        first = run_crawl(ws, "--url", sites.main.url, "--image-domain", "127.0.0.2", timeout=300)
        first_main, first_cdn = list(sites.main.requests), list(sites.cdn.requests)
        again = run_crawl(ws, "--url", sites.main.url, "--image-domain", "127.0.0.2", timeout=300)
        again_main = sites.main.requests[len(first_main):]
        again_cdn = sites.cdn.requests[len(first_cdn):]
        # The same site without its sitemap: only the pagers lead through the 52 listing pages.
        n = len(sites.main.requests)
        bare = run_crawl(make_workspace(tmp / "bare", sitemaps="false"), "--url", sites.main.url,
                         "--image-domain", "127.0.0.2", timeout=300)
        bare_main = sites.main.requests[n:]
        limited = run_crawl(make_workspace(tmp / "limited"), "--url", sites.main.url, "--image-domain",
                            "127.0.0.2", "--max-pages", "20", timeout=300)
        yield {"sites": sites, "first": first, "first_main": first_main, "first_cdn": first_cdn,
               "again": again, "again_main": again_main, "again_cdn": again_cdn, "bare": bare,
               "bare_main": bare_main, "limited": limited}


def stored_paths(run) -> set[str]:
    return {urlsplit(m["url"]).path for m in run.manifest}


def test_default_crawl_stores_the_whole_gallery(gallery):
    first, g = gallery["first"], gallery["sites"].gallery
    assert first.returncode == 0, first.stderr
    expected = set(g.images)
    got = stored_paths(first)
    assert len(got & expected) >= 0.95 * len(expected), sorted(expected - got)[:10]
    assert got == expected  # in fact every one
    assert first.stats["pages"] == len(g.pages)
    # The end line says why it stopped.
    assert "finished: every page reachable" in first.stdout.splitlines()[-1]
    assert first.stats["end"].startswith("finished")


def test_nothing_outside_the_allowed_hosts(gallery):
    sites = gallery["sites"]
    assert sites.other.requests == []  # linked and embedded, never contacted
    cdn_paths = Counter(r.path.split("/")[1] for r in gallery["first_cdn"])
    assert set(cdn_paths) == {"robots.txt", "img", "thumbs"}  # images only, never a page
    asked = {r.path for r in gallery["first_cdn"]}
    assert not asked & set(sites.gallery.disallowed)  # the CDN's own robots.txt holds
    assert gallery["first"].stats["failed_images"] == {"robots": len(sites.gallery.disallowed)}
    for m in gallery["first"].manifest:
        assert urlsplit(m["url"]).hostname == "127.0.0.2"
        assert urlsplit(m["page_url"]).hostname == "127.0.0.1"


def test_css_backgrounds_and_sitemap_only_posts_are_found(gallery):
    got = stored_paths(gallery["first"])
    assert {p for p in got if p.startswith("/thumbs/")}  # inline style="background-image:url()"
    assert "/img/hero-5.jpg" in got  # <style> block background
    orphans = gallery["sites"].gallery.orphan_images
    assert len(orphans) >= ORPHAN_POSTS and orphans <= got  # linked from nowhere, in the sitemap
    assert gallery["first"].stats["sitemaps"] == 3  # index + two urlsets


def test_a_malformed_url_skips_only_itself(gallery):
    first, g = gallery["first"], gallery["sites"].gallery
    assert first.stats["malformed_urls"] == 2  # http://[::1 and a port above 65535
    assert g.malformed_image in stored_paths(first)  # the good image of that same page


def test_pagination_alone_reaches_every_listing_page(gallery):
    """Without the sitemap, depth 3 and three pager styles: no depth trap on page 3."""
    bare = gallery["bare"]
    assert bare.returncode == 0, bare.stderr
    asked = {r.path for r in gallery["bare_main"]}
    assert {f"/list/page-{p}.html" for p in range(1, LISTING_PAGES + 1)} <= asked
    assert "/sitemap.xml" not in asked
    g = gallery["sites"].gallery
    linked = set(g.images) - g.orphan_images
    assert len(stored_paths(bare) & linked) >= 0.95 * len(linked)
    assert not stored_paths(bare) & g.orphan_images  # those only the sitemap lists


def test_recrawl_costs_conditional_requests_and_skips_unchanged_pages(gallery):
    again = gallery["again"]
    assert again.returncode == 0, again.stderr
    assert again.stats["stored"] == 0 and again.stats["images_downloaded"] == 0
    # Posts and listing pages whose sitemap <lastmod> predates our copy: not requested at all.
    paths = [r.path for r in gallery["again_main"]]
    assert not [p for p in paths if p.startswith("/posts/")]
    assert [p for p in paths if p.startswith("/list/")] == ["/list/page-1.html"]  # no lastmod
    assert all(r.status == 304 for r in gallery["again_main"])  # the rest: conditional, unchanged
    assert all("If-None-Match" in r.headers for r in gallery["again_main"])
    assert [r.path for r in gallery["again_cdn"]] == ["/robots.txt"]
    assert again.stats["pages"] == gallery["first"].stats["pages"]  # still parsed, from the cache


def test_a_limit_says_what_it_left(gallery):
    limited = gallery["limited"]
    assert limited.returncode == 0, limited.stderr
    assert limited.stats["pages"] <= 20
    left = limited.stats["pages_left"]
    assert left >= len(gallery["sites"].gallery.pages) - 20 - 2  # all the others (give or take 404s)
    line = limited.stdout.splitlines()[-1]
    assert line.startswith(f"stopped at max_pages=20; {left} pages left") and "raise [crawl] max_pages" in line


def test_progress_line_has_an_eta(gallery):
    assert "req/s" in gallery["first"].stderr
