"""The sitemap gate: pages wait until every sitemap asked for is read, so each page request
knows its `<lastmod>` (a re-crawl then skips unchanged pages instead of racing the sitemap).

The spider asks the gate which sitemap URLs to request (`admit`: each once per run, on allowed
hosts, at most MAX_SITEMAPS), hands it every sitemap read (`read`) or failed (`failed`), and
holds pages at it (`hold`); `release` gives the held pages back once no sitemap is pending.
Pure bookkeeping, no Scrapy: the requests stay the spider's.
"""

from __future__ import annotations

from crawler.extract import UNSUPPORTED_EXTS, host_allowed, path_ext
from crawler.sitemaps import MAX_SITEMAPS, read_sitemap


class SitemapGate:
    def __init__(self, allowed_domains: list[str], enabled: bool = True):
        self.allowed_domains = allowed_domains  # sitemaps and the pages they list stay on these
        self.enabled = enabled  # False: nothing is asked, so nothing is ever held back
        self.seen: set[str] = set()  # sitemap URLs asked this run
        self.pending = 0  # asked, not yet read or failed
        self.held: list[tuple[str, int]] = []  # (page URL, depth) waiting for the sitemaps
        self.lastmods: dict[str, str] = {}  # page URL -> <lastmod> of a sitemap

    def admit(self, urls: list[str]) -> list[str]:
        """The sitemap URLs of `urls` to request now, counted as pending at once (not lazily:
        spider outputs interleave, and held pages must not be released while one is coming)."""
        out = []
        for url in urls if self.enabled else ():
            if url in self.seen or len(self.seen) >= MAX_SITEMAPS or not host_allowed(url, self.allowed_domains):
                continue
            self.seen.add(url)
            self.pending += 1
            out.append(url)
        return out

    def read(self, body: bytes) -> tuple[list[str], list[str]]:
        """One asked sitemap arrived: (the nested sitemaps it lists, the pages it lists on the
        allowed hosts, now held with their <lastmod>)."""
        entries = read_sitemap(body)
        pages = []
        for entry in entries:
            if not entry.is_index and host_allowed(entry.loc, self.allowed_domains) \
                    and path_ext(entry.loc) not in UNSUPPORTED_EXTS:
                if entry.lastmod:
                    self.lastmods[entry.loc] = entry.lastmod
                pages.append(entry.loc)
        self.hold([(url, 0) for url in pages])  # sitemap pages do not count towards depth
        self.pending -= 1
        return [e.loc for e in entries if e.is_index], pages

    def failed(self) -> None:
        """One asked sitemap could not be fetched: it holds nothing back any more."""
        self.pending -= 1

    def hold(self, pages: list[tuple[str, int]]) -> None:
        self.held += pages

    def release(self) -> list[tuple[str, int]]:
        """The held pages, once no sitemap is being read any more ([] until then)."""
        if self.pending:
            return []
        held, self.held = self.held, []
        return held

    def lastmod(self, url: str) -> str | None:
        return self.lastmods.get(url)
