"""The sitemap gate on its own: pages wait until every sitemap asked for is read or failed."""

from __future__ import annotations

from crawler.sitemap_gate import SitemapGate
from crawler.sitemaps import MAX_SITEMAPS

INDEX = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>http://a.test/s2.xml</loc></sitemap></sitemapindex>"""
URLSET = b"""<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>http://a.test/p1</loc><lastmod>2024-01-01</lastmod></url>
<url><loc>http://other.test/p2</loc></url><url><loc>http://a.test/logo.svg</loc></url></urlset>"""


def test_pages_wait_for_nested_sitemaps_and_keep_their_lastmod():
    gate = SitemapGate(["a.test"])
    gate.hold([("http://a.test/", 0)])
    assert gate.admit(["http://a.test/sitemap.xml", "http://other.test/sitemap.xml"]) == ["http://a.test/sitemap.xml"]
    assert gate.admit(["http://a.test/sitemap.xml"]) == []  # once per run
    nested, pages = gate.read(INDEX)
    assert nested == ["http://a.test/s2.xml"] and pages == []
    assert gate.admit(nested) == nested and gate.release() == []  # still reading s2
    assert gate.read(URLSET) == ([], ["http://a.test/p1"])
    assert gate.release() == [("http://a.test/", 0), ("http://a.test/p1", 0)] and gate.release() == []
    assert gate.lastmod("http://a.test/p1") == "2024-01-01" and gate.lastmod("http://a.test/") is None


def test_a_failed_sitemap_releases_and_a_disabled_gate_never_holds():
    gate = SitemapGate(["a.test"])
    gate.hold([("http://a.test/", 0)])
    gate.admit(["http://a.test/sitemap.xml"])
    gate.failed()
    assert gate.release() == [("http://a.test/", 0)]
    off = SitemapGate(["a.test"], enabled=False)
    off.hold([("http://a.test/", 0)])
    assert off.admit(["http://a.test/sitemap.xml"]) == [] and off.release() == [("http://a.test/", 0)]


def test_the_number_of_sitemaps_is_bounded():
    gate = SitemapGate(["a.test"])
    assert len(gate.admit([f"http://a.test/s{i}.xml" for i in range(MAX_SITEMAPS + 5)])) == MAX_SITEMAPS
