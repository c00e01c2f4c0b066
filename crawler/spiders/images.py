"""The `images` spider: breadth-first through the allowed hosts, requesting every image found.

Pages and images are ordinary requests, so robots.txt, the host policy, retries, redirects,
the HTTP cache and the job directory (resume) apply to both. Pages stay on `allow_domains`;
images may also come from `image_domains`. Pagination links and sitemap entries do not count
towards `depth`: `max_pages` and `max_images` bound a crawl. Image URLs already in the manifest
(or rejected before) are not requested again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler import stats as statkeys
from crawler.extract import (
    UNSUPPORTED_EXTS,
    find_images,
    find_stylesheets,
    host_allowed,
    path_ext,
    stylesheet_images,
)
from crawler.httpcache import LASTMOD
from crawler.items import ImageItem
from crawler.links import find_links
from crawler.offsite import KIND
from crawler.sitemap_gate import SitemapGate

IMAGE_ACCEPT = "image/webp,image/png,image/jpeg,image/gif;q=0.9,*/*;q=0.5"
DEPTH = "studio_depth"  # meta: link depth that counts against `depth` (pagination does not add)
START = "studio_start_url"  # meta: the start URL a page request is (kept through retries and redirects)
MAX_MALFORMED_LOGGED = 20


class ImageSpider(scrapy.Spider):
    name = "images"

    def __init__(
        self,
        start_urls: list[str],
        allowed_domains: list[str],
        image_domains: list[str] | None = None,
        known_urls: set[str] | None = None,
        max_pages: int = 0,
        depth: int = 3,
        sitemaps: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.start_urls = list(start_urls)
        self.allowed_domains = list(allowed_domains)  # pages; crawler.offsite enforces it
        self.image_domains = [*self.allowed_domains, *(image_domains or [])]
        self.known_urls = frozenset(known_urls or ())
        self.seen_images: set[str] = set()
        self.seen_stylesheets: set[str] = set()
        self.max_pages = max_pages
        self.max_depth = depth
        self.sitemaps = SitemapGate(self.allowed_domains, enabled=sitemaps)  # pages wait for sitemaps
        self.pages_asked: set[str] = set()  # this run, to count the pages a limit left out
        self.pages_left_out: set[str] = set()
        self.too_deep: set[str] = set()
        # Start URL -> "ok" or why it failed (failure_reason), this run: a crawl whose start
        # pages all failed is an error, not an empty success (crawler.report.crawl_failure).
        self.start_outcomes: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.robots_parsed, signal=signals.robots_parsed)
        return spider

    # `state` is persisted in the job dir (crawler.state, JSON), so limits survive a resume.
    def _take_page_slot(self, url: str) -> bool:
        """Count `url` against max_pages; False when over the limit or already asked this run.

        Links to the same page from every listing page must not eat the budget."""
        if url in self.pages_asked:
            return False
        state = getattr(self, "state", None)
        if state is None:
            self.state = state = {}
        if self.max_pages and state.get("pages_requested", 0) >= self.max_pages:
            self.crawler.stats.inc_value(statkeys.PAGES_OVER_LIMIT)
            if url not in self.pages_asked:
                self.pages_left_out.add(url)
            return False
        state["pages_requested"] = state.get("pages_requested", 0) + 1
        self.pages_asked.add(url)
        self.pages_left_out.discard(url)
        return True

    async def start(self) -> AsyncIterator[scrapy.Request]:
        # dont_filter stays False for pages: on resume the seen-set drops pages already crawled.
        self.sitemaps.hold([(url, 0) for url in self.start_urls])
        for url in self.start_urls:
            parts = urlsplit(url)
            for req in self._sitemap_requests([f"{parts.scheme}://{parts.netloc}/sitemap.xml"]):
                yield req
        for req in self._release():
            yield req

    def _release(self) -> Iterator[scrapy.Request]:
        """The pages held at the sitemap gate, once no sitemap is being read any more."""
        for url, depth in self.sitemaps.release():
            if self._take_page_slot(url):
                yield from self._safe(self._page_request, url, depth)

    def _page_request(self, url: str, depth: int) -> scrapy.Request:
        meta = {KIND: "page", DEPTH: depth}
        if url in self.start_urls:
            meta[START] = url
        if lastmod := self.sitemaps.lastmod(url):
            meta[LASTMOD] = lastmod
        return scrapy.Request(url, callback=self.parse, errback=self.page_failed, meta=meta)

    # --- sitemaps -----------------------------------------------------------------------------

    def robots_parsed(self, robotparser, request) -> None:
        """`Sitemap:` lines of a page host's robots.txt join the crawl."""
        rp = getattr(robotparser, "rp", None)
        if rp is None or not host_allowed(request.url, self.allowed_domains):
            return
        for req in self._sitemap_requests(list(getattr(rp, "sitemaps", []) or [])):
            self.crawler.engine.crawl(req)

    def _sitemap_requests(self, urls: list[str]) -> list[scrapy.Request]:
        """Requests for the sitemaps the gate admits (each once per run: dont_filter, so a
        resumed job's seen-set cannot drop one silently and keep the held pages waiting)."""
        return [scrapy.Request(url, callback=self.parse_sitemap, errback=self.sitemap_failed,
                               meta={KIND: "sitemap"}, priority=10, dont_filter=True)
                for url in self.sitemaps.admit(urls)]

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        self.crawler.stats.inc_value(statkeys.SITEMAPS)
        nested, pages = self.sitemaps.read(response.body)
        self.crawler.stats.inc_value(statkeys.SITEMAP_PAGES, len(pages))
        yield from self._sitemap_requests(nested)
        yield from self._release()

    # --- pages --------------------------------------------------------------------------------

    def parse(self, response: Response) -> Iterator[scrapy.Request]:
        stats = self.crawler.stats
        self._note_start(response.meta, "ok")
        host = urlsplit(response.url).hostname or ""
        if not isinstance(response, HtmlResponse):
            stats.inc_value(statkeys.PAGES_NOT_HTML)
            return
        stats.inc_value(statkeys.PAGES)
        stats.inc_value(statkeys.domain(host, "pages"))
        if "cached" in response.flags:
            stats.inc_value(statkeys.PAGES_FROM_CACHE)
        malformed: list[str] = []
        for ref in find_images(response, malformed):
            yield from self.image_requests(ref.url, ref.alt, response.url)
        for css in find_stylesheets(response, malformed):
            yield from self.stylesheet_request(css, response.url)
        depth = response.meta.get(DEPTH, 0)
        for link in find_links(response, malformed):
            child = depth if link.pagination else depth + 1
            if child > self.max_depth:
                self.too_deep.add(link.url)
                continue
            if not host_allowed(link.url, self.allowed_domains):
                stats.inc_value(statkeys.LINKS_OFFSITE)
                continue
            if self._take_page_slot(link.url):
                yield from self._safe(self._page_request, link.url, child)
        self._count_malformed(malformed, response.url)

    def _safe(self, make, *args) -> Iterator[scrapy.Request]:
        """One request, or none (counted) when Scrapy refuses its URL."""
        try:
            yield make(*args)
        except ValueError as exc:
            self._count_malformed([str(exc)], "")

    def _count_malformed(self, malformed: list[str], page_url: str) -> None:
        stats = self.crawler.stats
        for text in malformed:
            n = stats.get_value(statkeys.MALFORMED_URLS, 0)
            if n < MAX_MALFORMED_LOGGED:
                self.logger.info("skipped malformed URL %s on %s", text, page_url)
            stats.set_value(statkeys.MALFORMED_URLS, n + 1)

    def image_requests(self, url: str, alt: str, page_url: str) -> Iterator[scrapy.Request]:
        stats = self.crawler.stats
        if not host_allowed(url, self.image_domains):
            stats.inc_value(statkeys.IMAGES_OFFSITE)
            # Per host, so the end line can name the CDN to allow (crawler.report).
            stats.inc_value(statkeys.image_offsite_host(urlsplit(url).hostname or '?'))
            return
        if url in self.seen_images:
            return
        self.seen_images.add(url)
        if url in self.known_urls:
            stats.inc_value(statkeys.IMAGES_KNOWN)
            return
        stats.inc_value(statkeys.IMAGES_FOUND)
        if path_ext(url) in UNSUPPORTED_EXTS:
            stats.inc_value(statkeys.rejected("unsupported_format"))
            return
        yield from self._safe(lambda: scrapy.Request(
            url,
            callback=self.parse_image,
            errback=self.image_failed,
            headers={"Accept": IMAGE_ACCEPT},
            # Images are not cached (raw/ has them) and never re-requested (known URLs).
            meta={"page_url": page_url, "alt": alt, "dont_cache": True, KIND: "image"},
            priority=1,  # finish a page's images before going deeper
        ))

    def stylesheet_request(self, url: str, page_url: str) -> Iterator[scrapy.Request]:
        """A linked stylesheet, once per crawl, from a host images may come from (a CDN)."""
        if url not in self.seen_stylesheets and host_allowed(url, self.image_domains):
            self.seen_stylesheets.add(url)
            yield from self._safe(lambda: scrapy.Request(
                url, callback=self.parse_stylesheet, errback=self.stylesheet_failed,
                meta={"page_url": page_url, KIND: "stylesheet"}, priority=1))

    def parse_stylesheet(self, response: Response) -> Iterator[scrapy.Request]:
        self.crawler.stats.inc_value(statkeys.STYLESHEETS)
        malformed: list[str] = []
        css = response.text if isinstance(response, TextResponse) else ""
        for url in stylesheet_images(response.url, css, malformed):
            yield from self.image_requests(url, "", response.meta["page_url"])
        self._count_malformed(malformed, response.url)

    def stylesheet_failed(self, failure: Failure) -> None:
        self.crawler.stats.inc_value(statkeys.failed("stylesheets", failure_reason(failure)))

    def parse_image(self, response: Response) -> Iterator[ImageItem]:
        redirects = response.meta.get("redirect_urls") or [response.url]
        yield ImageItem(
            url=redirects[0],
            page_url=response.meta["page_url"],
            alt=response.meta.get("alt", ""),
            content_type=(response.headers.get("Content-Type") or b"").decode("latin-1"),
            body=response.body,
        )

    def image_failed(self, failure: Failure) -> None:
        self.crawler.stats.inc_value(statkeys.failed("images", failure_reason(failure)))

    def page_failed(self, failure: Failure) -> None:
        reason = failure_reason(failure)
        self.crawler.stats.inc_value(statkeys.failed("pages", reason))
        request = getattr(failure, "request", None)
        if request is not None:
            self._note_start(request.meta, reason)

    def _note_start(self, meta: dict, outcome: str) -> None:
        url = meta.get(START)
        if url and self.start_outcomes.get(url) != "ok":
            self.start_outcomes[url] = outcome

    def sitemap_failed(self, failure: Failure) -> Iterator[scrapy.Request]:
        self.crawler.stats.inc_value(statkeys.failed("sitemaps", failure_reason(failure)))
        self.sitemaps.failed()
        yield from self._release()

    def closed(self, reason: str) -> None:
        self.crawler.stats.set_value(statkeys.PAGES_LEFT, len(self.pages_left_out))
        self.crawler.stats.set_value(statkeys.LINKS_TOO_DEEP, len(self.too_deep - self.pages_asked))
        self.crawler.stats.set_value(statkeys.START_PAGES, dict(self.start_outcomes))


def failure_reason(failure: Failure) -> str:
    """A short stats key for a failed download: http_404, robots, timeout, too_large…"""
    exc = failure.value
    if isinstance(exc, HttpError):
        return f"http_{exc.response.status}"
    text = str(exc).lower()
    if isinstance(exc, IgnoreRequest):
        return "robots" if "robots" in text else "offsite" if "offsite" in text else "ignored"
    if "timeout" in type(exc).__name__.lower() or "timed out" in text:
        return "timeout"
    if "maxsize" in text or "max size" in text or "cancel" in text:
        return "too_large"
    return type(exc).__name__
