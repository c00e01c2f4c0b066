"""Reading sitemaps (`/sitemap.xml`, `Sitemap:` lines of robots.txt): pages a site lists itself.

Pages listed in a sitemap are crawled at depth 0, and their `<lastmod>` lets a re-crawl skip
pages that did not change (crawler.httpcache). Gzipped sitemaps and sitemap indexes are read;
nesting and size are bounded so a hostile sitemap cannot make the crawl unbounded.
"""

from __future__ import annotations

from dataclasses import dataclass

import lxml.etree
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap

MAX_SITEMAPS = 100  # sitemap files read per crawl (indexes included)
MAX_BYTES = 50_000_000  # the sitemap protocol's own limit for one (uncompressed) file


@dataclass(frozen=True)
class SitemapEntry:
    loc: str
    lastmod: str  # as written, may be empty
    is_index: bool  # True: `loc` is another sitemap


def read_sitemap(body: bytes) -> list[SitemapEntry]:
    """Entries of a sitemap or sitemap index; [] for anything that is not one."""
    if body[:2] == b"\x1f\x8b":
        try:
            body = gunzip(body, max_size=MAX_BYTES)
        except (OSError, ValueError, EOFError):
            return []
    try:
        sitemap = Sitemap(body)
        kind = sitemap.type
        entries = [
            SitemapEntry(str(d["loc"]).strip(), str(d.get("lastmod", "")), kind == "sitemapindex")
            for d in sitemap
        ]
    except (lxml.etree.LxmlError, StopIteration, ValueError, TypeError):
        return []
    return entries if kind in ("urlset", "sitemapindex") else []
