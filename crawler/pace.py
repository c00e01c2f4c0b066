"""The pace of a crawl per host: robots.txt `Crawl-delay`, then AutoThrottle on the latency.

Replaces Scrapy's AutoThrottle extension, which (a) knows one minimum delay for every host, so a
`Crawl-delay: 5` could not be honoured, and (b) is reset whenever Scrapy garbage-collects an idle
download slot. Here every host has a floor, max(download_delay, its Crawl-delay), re-applied to
each request's slot; above the floor the delay follows the measured latency (AutoThrottle's
rule) when `autothrottle` is on, and backs off on 429/503 (honouring `Retry-After`).

The delay jitter is off (DOWNLOAD_DELAY_JITTER = 0 in settings): Scrapy redraws the random delay
each time a waiting slot wakes up, so with ±50 % a 1.0 s delay averaged about 1.2 s between
requests; without it the configured rate is the rate a fast host gets.
"""

from __future__ import annotations

from scrapy import signals
from scrapy.utils.httpobj import urlparse_cached

from crawler import stats as statkeys

BACKOFF_STATUSES = (429, 503)


class HostPace:
    def __init__(self, crawler, floor: float, adapt: bool, max_delay: float, target: float):
        self.crawler = crawler
        self.floor = floor
        self.adapt = adapt
        self.max_delay = max_delay
        self.target = target
        self.crawl_delays: dict[str, float] = {}  # hostname -> Crawl-delay of its robots.txt

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        ext = cls(
            crawler,
            floor=s.getfloat("DOWNLOAD_DELAY"),
            adapt=s.getbool("STUDIO_AUTOTHROTTLE"),
            max_delay=s.getfloat("AUTOTHROTTLE_MAX_DELAY", 60.0),
            target=s.getfloat("AUTOTHROTTLE_TARGET_CONCURRENCY", 1.0),
        )
        crawler.signals.connect(ext.robots_parsed, signal=signals.robots_parsed)
        crawler.signals.connect(ext.request_reached_downloader, signal=signals.request_reached_downloader)
        crawler.signals.connect(ext.response_downloaded, signal=signals.response_downloaded)
        return ext

    def host_floor(self, host: str) -> float:
        return max(self.floor, self.crawl_delays.get(host, 0.0))

    def robots_parsed(self, robotparser, request) -> None:
        agent = self.crawler.settings.get("USER_AGENT", "")
        try:
            delay = robotparser.crawl_delay(agent)
        except Exception:  # a parser or a Redis error must not stop the crawl
            delay = None
        if delay is None or delay <= 0:
            return
        host = urlparse_cached(request).hostname or ""
        # A hostile Crawl-delay (a day) would stall the crawl: capped, and the cap is recorded.
        self.crawl_delays[host] = min(float(delay), self.max_delay)
        self.crawler.stats.set_value(statkeys.crawl_delay(host), self.crawl_delays[host])

    def _slot(self, request):
        key = request.meta.get("download_slot")
        downloader = getattr(self.crawler.engine, "downloader", None)
        return None if key is None or downloader is None else downloader.slots.get(key)

    def request_reached_downloader(self, request, spider) -> None:
        slot = self._slot(request)
        if slot is not None:
            slot.delay = max(slot.delay, self.host_floor(urlparse_cached(request).hostname or ""))

    def response_downloaded(self, response, request, spider) -> None:
        slot = self._slot(request)
        if slot is None:
            return
        floor = self.host_floor(urlparse_cached(request).hostname or "")
        if response.status in BACKOFF_STATUSES:
            wait = _retry_after(response) or max(slot.delay * 2, 1.0)
            slot.delay = min(max(wait, floor), self.max_delay)
            self.crawler.stats.inc_value(statkeys.BACKOFFS)
            return
        latency = request.meta.get("download_latency")
        if not self.adapt or latency is None:
            slot.delay = max(floor, slot.delay / 2)  # back to the floor after a back-off
            return
        target = latency / self.target
        new = max(target, (slot.delay + target) / 2.0)  # AutoThrottle's rule
        if response.status != 200 and new <= slot.delay:
            return  # small error pages would pull the delay down
        slot.delay = min(max(floor, new), self.max_delay)


def _retry_after(response) -> float | None:
    value = (response.headers.get(b"Retry-After") or b"").decode("latin-1").strip()
    return float(value) if value.isdigit() else None
