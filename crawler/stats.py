"""A crawl's numbers: the keys the crawler's parts count under in Scrapy's stats collector (one
constant or key function each, so a renamed counter fails at import), and `CrawlStats`, what one
finished crawl did — `stats.json`, typed.

Written by `crawler.report.summarize` (through `crawler.run`); read through
`crawler.report.list_crawls` → `Crawl.stats` or `crawler.run.CrawlResult.stats`. Stdlib only, so
the app and the studio read it without importing Scrapy.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

# --- Scrapy stats keys: plain counters -------------------------------------------------------
PREFIX = "studio/"  # ours; everything else in Scrapy's stats is Scrapy's own (CrawlStats.scrapy)
PAGES = "studio/pages"  # HTML pages parsed (from the server or the HTTP cache)
PAGES_FROM_CACHE = "studio/pages_from_cache"
PAGES_NOT_HTML = "studio/pages_not_html"
PAGES_OVER_LIMIT = "studio/pages_over_limit"  # links not followed because max_pages was reached
PAGES_LEFT = "studio/pages_left"  # distinct pages max_pages left out (set at the end)
LINKS_TOO_DEEP = "studio/links_too_deep"  # distinct links beyond depth (set at the end)
LINKS_OFFSITE = "studio/links_offsite"
SITEMAPS = "studio/sitemaps"
SITEMAP_PAGES = "studio/sitemap_pages"
MALFORMED_URLS = "studio/malformed_urls"
STYLESHEETS = "studio/stylesheets"
IMAGES_FOUND = "studio/images_found"
IMAGES_KNOWN = "studio/images_known"  # in the manifest (or rejected) before: not requested again
IMAGES_OFFSITE = "studio/images_offsite"
IMAGES_DOWNLOADED = "studio/images_downloaded"
IMAGES_NOT_WRITTEN = "studio/images_not_written"
IMAGES_OVER_LIMIT = "studio/images_over_limit"
STORED = "studio/stored"
DUPLICATES = "studio/duplicates"
BYTES_DOWNLOADED = "studio/bytes_downloaded"
BYTES_STORED = "studio/bytes_stored"
BACKOFFS = "studio/backoffs"
JOB_BAD_ENTRIES = "studio/job_bad_entries"
STORAGE_ERROR = "studio/storage_error"  # the first failed write, in one line
START_PAGES = "studio/start_pages"  # start URL -> "ok" or why it failed (set at the end)
REDIS_IDLE_WAITS = "studio/redis_idle_waits"
REDIS_HEARTBEAT_ERRORS = "studio/redis_heartbeat_errors"
REDIS_CLOSED_CRAWL = "studio/redis_closed_crawl"

# --- Scrapy stats keys: families, a prefix and a name after it -------------------------------
REJECTED = "studio/rejected/"  # + reason
FAILED = "studio/failed/"  # + kind (FAILED_KINDS) + "/" + reason
FAILED_KINDS = ("images", "pages", "sitemaps", "stylesheets")
DOMAIN = "studio/domain/"  # + host + "/" + counter (pages, images, stored, rejected)
IMAGES_OFFSITE_HOST = "studio/images_offsite_host/"  # + host
ROBOTS = "studio/robots/"  # + host: what its robots.txt said
CRAWL_DELAY = "studio/crawl_delay/"  # + host: the Crawl-delay obeyed


def rejected(reason: str) -> str:
    return f"{REJECTED}{reason}"


def failed(kind: str, reason: str) -> str:
    assert kind in FAILED_KINDS, kind
    return f"{FAILED}{kind}/{reason}"


def domain(host: str, counter: str) -> str:
    return f"{DOMAIN}{host}/{counter}"


def image_offsite_host(host: str) -> str:
    return f"{IMAGES_OFFSITE_HOST}{host}"


def robots(host: str) -> str:
    return f"{ROBOTS}{host}"


def crawl_delay(host: str) -> str:
    return f"{CRAWL_DELAY}{host}"


# --- stats.json ------------------------------------------------------------------------------

@dataclass(frozen=True)
class CrawlStats:
    """What one finished crawl did: `stats.json`, one field a key. Every field has a default, so
    a stats.json written by an older version (fewer keys) still reads."""

    started_at: str = ""  # UTC, ISO 8601 with a Z
    duration_s: float = 0.0
    finish_reason: str | None = None  # Scrapy's: finished, max_images, shutdown, storage_error…
    resumed: bool = False  # continued an unfinished job
    start_urls: list[str] = field(default_factory=list)
    start_pages: dict[str, str] = field(default_factory=dict)  # start URL -> "ok" or why not
    allowed_domains: list[str] = field(default_factory=list)
    image_domains: list[str] = field(default_factory=list)
    known_urls_at_start: int = 0
    pages: int = 0
    pages_from_cache: int = 0
    pages_not_html: int = 0
    pages_left: int = 0
    links_too_deep: int = 0
    requests_left: int = 0  # still queued when the crawl stopped
    sitemaps: int = 0
    sitemap_pages: int = 0
    malformed_urls: int = 0
    images_found: int = 0
    images_known: int = 0
    images_offsite: int = 0
    images_offsite_hosts: dict[str, int] = field(default_factory=dict)
    images_downloaded: int = 0
    images_not_written: int = 0
    stored: int = 0  # new images in raw/
    duplicates: int = 0
    rejected: dict[str, int] = field(default_factory=dict)  # by reason
    failed_images: dict[str, int] = field(default_factory=dict)  # by reason (http_404, robots…)
    failed_pages: dict[str, int] = field(default_factory=dict)
    failed_sitemaps: dict[str, int] = field(default_factory=dict)
    bytes_downloaded: int = 0
    bytes_stored: int = 0
    domains: dict[str, dict[str, int]] = field(default_factory=dict)  # host -> counter -> n
    robots: dict[str, str] = field(default_factory=dict)  # host -> what its robots.txt said
    crawl_delay: dict[str, float] = field(default_factory=dict)  # host -> Crawl-delay obeyed
    requests_per_s: float = 0.0
    http_status: dict[str, int] = field(default_factory=dict)
    conditional_304: int = 0
    retries: int = 0
    robots_forbidden: int = 0
    offsite_filtered: int = 0
    job_bad_entries: int = 0
    storage_error: str = ""
    scrapy: dict[str, Any] = field(default_factory=dict)  # Scrapy's own stats, as it keeps them
    frontier: dict[str, Any] | None = None  # the shared (Redis) frontier: prefix, fresh
    end: str = ""  # the end line: why the crawl stopped, what to raise

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def pages_recovered_from_cache(self) -> int:
        """Pages the HTTP cache answered after a download error (Scrapy's "error recovery")."""
        return int(self.scrapy.get("httpcache/errorrecovery", 0) or 0)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: Any) -> CrawlStats | None:
        """The stats of a stats.json object; None when it is not one (damaged, edited by hand).
        Keys it does not know are left out."""
        if not isinstance(raw, dict):
            return None
        values = {}
        for f in dataclasses.fields(cls):
            if f.name not in raw:
                continue
            value, default = raw[f.name], _default(f)
            if default is not None and value is not None and not _same_kind(value, default):
                return None
            values[f.name] = value
        return cls(**values)


def _default(f: dataclasses.Field) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def _same_kind(value: Any, default: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int | float):
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, type(default))
