"""A progress line on stderr while a crawl runs (pages, images, stored, rejected, rate, ETA).

The ETA is the requests waiting (scheduler queue + downloader) over the request rate of the
last minute: it grows while the crawl discovers pages, and is an estimate of what is known.
"""

from __future__ import annotations

import sys
import time
from collections import deque

from scrapy import signals
from twisted.internet import task

from crawler import stats as statkeys


class ProgressLine:
    def __init__(self, crawler, interval: float):
        self.crawler = crawler
        self.interval = interval
        self.tty = sys.stderr.isatty()
        self.started = time.monotonic()
        self.loop: task.LoopingCall | None = None
        self.samples: deque[tuple[float, int]] = deque(maxlen=60)  # (time, responses so far)
        self.shown = False

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
        # A crawl that fetched no page has no progress to tell: its end line or error says why.
        get = self.crawler.stats.get_value
        if self.shown or get(statkeys.PAGES, 0) or get(statkeys.PAGES_NOT_HTML, 0):
            self.show(final=True)

    def pending(self) -> int:
        engine = getattr(self.crawler, "engine", None)
        slot = getattr(engine, "_slot", None)
        try:
            queued = len(slot.scheduler) if slot is not None else 0
        except (TypeError, AttributeError):  # a scheduler without len()
            get = self.crawler.stats.get_value
            queued = max(0, get("scheduler/enqueued", 0) - get("scheduler/dequeued", 0))
        active = len(getattr(getattr(engine, "downloader", None), "active", ()) or ())
        return queued + active

    def eta(self, now: float) -> str:
        done = self.crawler.stats.get_value("response_received_count", 0)
        self.samples.append((now, done))
        t0, n0 = self.samples[0]
        if now - t0 < 1:  # first line: the rate since the start
            t0, n0 = self.started, 0
        rate = (done - n0) / max(now - t0, 1e-6)
        pending = self.pending()
        if pending == 0:
            return f"{rate:.1f} req/s"
        if rate <= 0:
            return f"{pending} queued, ETA unknown"
        return f"{rate:.1f} req/s, {pending} queued, ETA {duration(pending / rate)}"

    def line(self) -> str:
        get = self.crawler.stats.get_value
        rejected = sum(v for k, v in self.crawler.stats.get_stats().items() if k.startswith(statkeys.REJECTED))
        now = time.monotonic()
        elapsed = max(now - self.started, 1e-6)
        stored = get(statkeys.STORED, 0)
        return (
            f"crawl: {get(statkeys.PAGES, 0)} pages, {get(statkeys.IMAGES_FOUND, 0)} images found, "
            f"{stored} stored, {get(statkeys.DUPLICATES, 0)} duplicates, {rejected} rejected "
            f"({stored / elapsed:.1f} img/s, {self.eta(now)}, {elapsed:.0f}s)"
        )

    def show(self, final: bool = False) -> None:
        self.shown = True
        if self.tty:
            sys.stderr.write("\r\x1b[K" + self.line() + ("\n" if final else ""))
        else:
            sys.stderr.write(self.line() + "\n")
        sys.stderr.flush()


def duration(seconds: float) -> str:
    """A duration as a progress line says it: 42s, 3m07s, 2h05m."""
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
