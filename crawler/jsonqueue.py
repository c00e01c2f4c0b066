"""Job-dir request queues stored as JSON, never pickle (`SCHEDULER_DISK_QUEUE`, start queue).

Scrapy's disk queues pickle requests, so a crafted `crawl/job/requests.queue/` in a workspace
received from someone else would run code on `studio crawl`. These store `Request.to_dict()`
through `crawler.redis_codec` (JSON, no `_class`, only the spider's own callbacks); an entry that
does not decode is skipped and counted (`studio/job_bad_entries`), never executed.
"""

from __future__ import annotations

from pathlib import Path

from queuelib import queue
from scrapy.utils.request import request_from_dict

from crawler import redis_codec
from crawler import stats as statkeys
from crawler.diskguard import storage_failed
from crawler.store import StorageFailed


class JsonFifoDiskQueue(queue.FifoDiskQueue):
    def __init__(self, crawler, key: str):
        self.crawler = crawler
        Path(key).parent.mkdir(parents=True, exist_ok=True)
        try:
            super().__init__(key)
        except ValueError:  # a damaged info.json: start this queue empty
            crawler.stats.inc_value(statkeys.JOB_BAD_ENTRIES)
            for f in Path(key).glob("*"):
                f.unlink()
            super().__init__(key)

    @classmethod
    def from_crawler(cls, crawler, key: str, *args, **kwargs):
        return cls(crawler, key)

    def push(self, request) -> None:
        try:
            data = redis_codec.dumps(request.to_dict(spider=self.crawler.spider))
        except (TypeError, ValueError) as exc:
            raise ValueError(str(exc)) from exc  # Scrapy counts it as scheduler/unserializable
        try:
            super().push(data)
        except OSError as exc:
            # The crawl stops (diskguard); meanwhile Scrapy keeps this request in memory.
            storage_failed(self.crawler, StorageFailed(Path(self.path), exc))
            raise ValueError(f"job queue not writable: {exc}") from exc

    def pop(self):
        while True:
            data = super().pop()
            if not data:
                return None
            try:
                return request_from_dict(redis_codec.loads(data), spider=self.crawler.spider)
            except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError):
                self.crawler.stats.inc_value(statkeys.JOB_BAD_ENTRIES)

    def peek(self):
        raise NotImplementedError  # Scrapy falls back to pop() when peek is missing
