"""The `images` spider: breadth-first through the allowed hosts, requesting every image found.

Pages and images are ordinary requests, so robots.txt, the offsite filter, retries, redirects,
the HTTP cache and the job directory (resume) apply to both. Image URLs already in the manifest
(or rejected before) are not requested again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response
from scrapy.linkextractors import LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.extract import UNSUPPORTED_EXTS, find_images, host_allowed, is_http, path_ext
from crawler.items import ImageItem

IMAGE_ACCEPT = "image/webp,image/png,image/jpeg,image/gif;q=0.9,*/*;q=0.5"


class ImageSpider(scrapy.Spider):
    name = "images"

    def __init__(
        self,
        start_urls: list[str],
        allowed_domains: list[str],
        known_urls: set[str] | None = None,
        max_pages: int = 0,
        depth: int = 3,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.start_urls = list(start_urls)
        self.allowed_domains = list(allowed_domains)  # also read by Scrapy's OffsiteMiddleware
        self.known_urls = frozenset(known_urls or ())
        self.seen_images: set[str] = set()
        self.max_pages = max_pages
        self.max_depth = depth
        # No allow_domains here: it compares host:port and would drop every link on a
        # non-default port. Hosts are filtered by hostname in follow_links().
        self.links = LinkExtractor()

    # `state` is persisted in the job dir by Scrapy's SpiderState, so limits survive a resume.
    def _take_page_slot(self) -> bool:
        state = getattr(self, "state", None)
        if state is None:
            self.state = state = {}
        if self.max_pages and state.get("pages_requested", 0) >= self.max_pages:
            self.crawler.stats.inc_value("studio/pages_over_limit")
            return False
        state["pages_requested"] = state.get("pages_requested", 0) + 1
        return True

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.start_urls:
            if self._take_page_slot():
                # dont_filter stays False: on resume the seen-set drops pages already crawled.
                yield self._page_request(url)

    def _page_request(self, url: str) -> scrapy.Request:
        # max-age=0: revalidate cached pages (If-None-Match / If-Modified-Since) every crawl.
        return scrapy.Request(
            url, callback=self.parse, errback=self.page_failed, headers={"Cache-Control": "max-age=0"}
        )

    def parse(self, response: Response) -> Iterator[scrapy.Request]:
        stats = self.crawler.stats
        host = urlsplit(response.url).hostname or ""
        if not isinstance(response, HtmlResponse):
            stats.inc_value("studio/pages_not_html")
            return
        stats.inc_value("studio/pages")
        stats.inc_value(f"studio/domain/{host}/pages")
        for ref in find_images(response):
            yield from self.image_requests(ref.url, ref.alt, response.url)
        if response.meta.get("depth", 0) < self.max_depth:
            yield from self.follow_links(response)

    def follow_links(self, response: HtmlResponse) -> Iterator[scrapy.Request]:
        for link in self.links.extract_links(response):
            if not is_http(link.url):
                continue
            if not host_allowed(link.url, self.allowed_domains):
                self.crawler.stats.inc_value("studio/links_offsite")
                continue
            if self._take_page_slot():
                yield self._page_request(link.url)

    def image_requests(self, url: str, alt: str, page_url: str) -> Iterator[scrapy.Request]:
        stats = self.crawler.stats
        if not host_allowed(url, self.allowed_domains):
            stats.inc_value("studio/images_offsite")
            return
        if url in self.seen_images:
            return
        self.seen_images.add(url)
        if url in self.known_urls:
            stats.inc_value("studio/images_known")
            return
        stats.inc_value("studio/images_found")
        if path_ext(url) in UNSUPPORTED_EXTS:
            stats.inc_value("studio/rejected/unsupported_format")
            return
        yield scrapy.Request(
            url,
            callback=self.parse_image,
            errback=self.image_failed,
            headers={"Accept": IMAGE_ACCEPT},
            # Images are not cached (raw/ has them) and never re-requested (known URLs).
            meta={"page_url": page_url, "alt": alt, "dont_cache": True},
            priority=1,  # finish a page's images before going deeper
        )

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
        self.crawler.stats.inc_value(f"studio/failed/images/{failure_reason(failure)}")

    def page_failed(self, failure: Failure) -> None:
        self.crawler.stats.inc_value(f"studio/failed/pages/{failure_reason(failure)}")


def failure_reason(failure: Failure) -> str:
    """A short stats key for a failed download: http_404, robots, timeout, too_large…"""
    exc = failure.value
    if isinstance(exc, HttpError):
        return f"http_{exc.response.status}"
    text = str(exc).lower()
    if isinstance(exc, IgnoreRequest):
        return "robots" if "robots" in text else "ignored"
    if "timeout" in type(exc).__name__.lower() or "timed out" in text:
        return "timeout"
    if "maxsize" in text or "max size" in text or "cancel" in text:
        return "too_large"
    return type(exc).__name__
