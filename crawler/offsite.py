"""Which hosts a request may go to: pages within `allow_domains`, images also on `image_domains`.

Replaces Scrapy's OffsiteMiddleware, which knows one list for every request. The kind of a
request travels in `meta["studio_kind"]` (redirects copy meta, so a page redirected to a CDN
is still a page and is dropped). Hosts are compared by hostname, never `host:port`.
"""

from __future__ import annotations

from scrapy import Request, signals
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached

from crawler.extract import host_allowed

KIND = "studio_kind"  # meta key: "page", "image", "stylesheet" (from image hosts) or "sitemap"


class HostPolicyMiddleware:
    def __init__(self, crawler, page_domains: list[str], image_domains: list[str]):
        self.crawler = crawler
        self.page_domains = page_domains
        self.image_domains = [*page_domains, *image_domains]

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        mw = cls(crawler, s.getlist("STUDIO_PAGE_DOMAINS"), s.getlist("STUDIO_IMAGE_DOMAINS"))
        # Also at scheduling time, so an offsite request never waits in the queue.
        crawler.signals.connect(mw.request_scheduled, signal=signals.request_scheduled)
        return mw

    def allowed(self, request: Request) -> bool:
        url = request.url
        if request.meta.get(KIND) in ("image", "stylesheet"):
            return host_allowed(url, self.image_domains)
        if request.meta.get("dont_obey_robotstxt") and urlparse_cached(request).path == "/robots.txt":
            return host_allowed(url, self.image_domains)  # robots.txt of every host we may use
        return host_allowed(url, self.page_domains)

    def request_scheduled(self, request: Request, spider) -> None:
        self.process_request(request)

    def process_request(self, request: Request) -> None:
        if self.allowed(request):
            return
        self.crawler.stats.inc_value("offsite/filtered")  # Scrapy's own key, kept for stats.json
        raise IgnoreRequest(f"Filtered offsite request to {urlparse_cached(request).hostname!r}")
