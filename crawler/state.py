"""The spider's resumable state (`crawl/job/studio-state.json`), JSON instead of Scrapy's pickle.

Scrapy's SpiderState extension unpickles `crawl/job/spider.state` when a crawl opens: a crafted
file in a workspace received from someone else ran code. It is switched off (settings), this
one keeps `spider.state` (plain counters) as JSON, and a `spider.state` file is never read.
"""

from __future__ import annotations

import json
from pathlib import Path

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.job import job_dir

from crawler.diskguard import storage_failed
from crawler.store import StorageFailed
from records import read_json, write_atomic

STATE_FILE = "studio-state.json"


class JsonSpiderState:
    def __init__(self, crawler, jobdir: str):
        self.crawler = crawler
        self.path = Path(jobdir) / STATE_FILE

    @classmethod
    def from_crawler(cls, crawler):
        jobdir = job_dir(crawler.settings)
        if not jobdir:
            raise NotConfigured
        ext = cls(crawler, jobdir)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider) -> None:
        state = read_json(self.path) or {}
        # Only counters survive: anything else in a crafted file is dropped.
        spider.state = {k: v for k, v in state.items() if isinstance(k, str) and type(v) is int}

    def spider_closed(self, spider, reason) -> None:
        if not self.path.parent.is_dir():
            return  # the job dir was removed (finished crawl)
        try:
            write_atomic(self.path, json.dumps(getattr(spider, "state", {})).encode())
        except OSError as exc:
            storage_failed(self.crawler, StorageFailed(self.path, exc))
