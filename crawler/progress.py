"""A progress line on stderr while a crawl runs (pages, images, stored, rejected, rate)."""

from __future__ import annotations

import sys
import time

from scrapy import signals
from twisted.internet import task


class ProgressLine:
    def __init__(self, crawler, interval: float):
        self.crawler = crawler
        self.interval = interval
        self.tty = sys.stderr.isatty()
        self.started = time.monotonic()
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler):
        ext = cls(crawler, crawler.settings.getfloat("STUDIO_PROGRESS_INTERVAL", 1.0 if sys.stderr.isatty() else 10.0))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider) -> None:
        self.started = time.monotonic()
        self.loop = task.LoopingCall(self.show)
        self.loop.start(self.interval, now=False)

    def spider_closed(self, spider, reason) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        self.show(final=True)

    def line(self) -> str:
        get = self.crawler.stats.get_value
        rejected = sum(v for k, v in self.crawler.stats.get_stats().items() if k.startswith("studio/rejected/"))
        elapsed = max(time.monotonic() - self.started, 1e-6)
        stored = get("studio/stored", 0)
        return (
            f"crawl: {get('studio/pages', 0)} pages, {get('studio/images_found', 0)} images found, "
            f"{stored} stored, {get('studio/duplicates', 0)} duplicates, {rejected} rejected "
            f"({stored / elapsed:.1f} img/s, {elapsed:.0f}s)"
        )

    def show(self, final: bool = False) -> None:
        if self.tty:
            sys.stderr.write("\r\x1b[K" + self.line() + ("\n" if final else ""))
        else:
            sys.stderr.write(self.line() + "\n")
        sys.stderr.flush()
