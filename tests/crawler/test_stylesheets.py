"""Images in linked stylesheets: found through the real engine, resolved against the stylesheet,
stored with the page they appear on; fonts, offsite and dead stylesheets are left alone."""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse

from crawler.extract import find_stylesheets, stylesheet_images
from studio.demo.server import serve
from tests.crawler.conftest import make_workspace, run_crawl
from tests.fixtures.gallery_site import _jpeg


def test_stylesheet_links_and_their_background_images():
    head = ('<link rel="stylesheet" href="/css/a.css"><link rel="Preload Stylesheet" href="b.css">'
            '<link rel="icon" href="/favicon.png"><link rel="stylesheet" href="/css/a.css">'
            '<link rel="stylesheet" href="http://[::1">')
    page = HtmlResponse("http://site.test/dir/page.html", body=f"<html><head>{head}</head></html>".encode(),
                        encoding="utf-8")
    bad: list[str] = []
    assert find_stylesheets(page, bad) == ["http://site.test/css/a.css", "http://site.test/dir/b.css"]
    assert len(bad) == 1
    css = (".hero { background-image: url('../img/hero.jpg') } .t{background:#000 url(/t.png)}"
           "@font-face { font-family: x; src: url(fonts/x.woff2) } .again{background:url(../img/hero.jpg)}")
    assert stylesheet_images("http://site.test/css/a.css", css) == [
        "http://site.test/img/hero.jpg", "http://site.test/t.png"]  # relative to the stylesheet


@pytest.mark.cli
def test_a_crawl_stores_the_images_of_linked_stylesheets(tmp_path):
    root = tmp_path / "site"
    (root / "css").mkdir(parents=True)
    (root / "img").mkdir()
    (root / "img" / "hero.jpg").write_bytes(_jpeg(7))
    (root / "img" / "inline.jpg").write_bytes(_jpeg(8))
    (root / "css" / "site.css").write_text(
        ".hero { background-image: url('../img/hero.jpg') }\n@font-face { src: url(../fonts/f.woff2) }\n")
    (root / "index.html").write_text(
        '<html><head><link rel="stylesheet" href="/css/site.css">'
        '<link rel="stylesheet" href="/css/gone.css">'
        '<link rel="stylesheet" href="http://cdn.elsewhere.test/theme.css"></head>'
        '<body><img src="/img/inline.jpg"><a href="two.html">two</a></body></html>')
    (root / "two.html").write_text('<html><head><link rel="stylesheet" href="/css/site.css"></head></html>')
    (root / "robots.txt").write_text("User-agent: *\n")
    ws = make_workspace(tmp_path / "ws")
    with serve(root) as site:
        run = run_crawl(ws, "--url", site.url)
    assert run.returncode == 0, run.stderr
    stored = {m["url"].removeprefix(site.url.rstrip("/")): m["page_url"] for m in run.manifest}
    assert stored == {"/img/hero.jpg": site.url, "/img/inline.jpg": site.url}
    asked = [r.path for r in site.requests]
    assert asked.count("/css/site.css") == 1  # linked from two pages, fetched once
    assert "/fonts/f.woff2" not in asked and "/css/gone.css" in asked  # tried, 404, the crawl goes on
