"""Keep a worker of a shared (scrapy-redis) crawl alive while the shared queue may still grow.

Scrapy closes a spider as soon as it is idle. With a shared frontier a worker is idle whenever
the queue in Redis is momentarily empty, e.g. while another worker is still fetching the page
that will add the next links; it would stop and leave the rest to the others. This extension
keeps it open until it has been idle for `STUDIO_REDIS_IDLE_S` seconds in a row (the engine
rechecks every 5 s, so the wait rounds up to that).
"""

from __future__ import annotations

import time

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured

from crawler import stats as statkeys


class SharedQueueIdleGrace:
    def __init__(self, crawler, grace_s: float):
        self.crawler = crawler
        self.grace_s = grace_s
        self.idle_since: float | None = None

    @classmethod
    def from_crawler(cls, crawler):
        grace = crawler.settings.getfloat("STUDIO_REDIS_IDLE_S", 0.0)
        if grace <= 0:
            raise NotConfigured
        ext = cls(crawler, grace)
        crawler.signals.connect(ext.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.busy, signal=signals.request_reached_downloader)
        return ext

    def busy(self, request, spider) -> None:
        self.idle_since = None  # got work from the shared queue: the wait starts over

    def spider_idle(self, spider) -> None:
        now = time.monotonic()
        if self.idle_since is None:
            self.idle_since = now
        if now - self.idle_since < self.grace_s:
            self.crawler.stats.inc_value(statkeys.REDIS_IDLE_WAITS)
            raise DontCloseSpider
