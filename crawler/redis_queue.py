"""The shared frontier's queue: scrapy-redis's FIFO queue, minus the crash on an entry it cannot
read. Anyone who can write to the Redis server can push entries; one that is not a request of
ours (not JSON, naming a class or a foreign callback: `crawler.redis_codec.loads`) is dropped
with one warning line and counted as `frontier/rejected` in the crawl's stats, and the crawl goes
on with the next entry. scrapy-redis's own queue raises, which stops the worker's scheduler."""

from __future__ import annotations

import logging

from scrapy_redis.queue import FifoQueue

log = logging.getLogger(__name__)


class SafeFifoQueue(FifoQueue):
    def _decode_request(self, encoded_request):
        try:
            return super()._decode_request(encoded_request)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("shared frontier: dropped an entry that is not a request of ours (%s)",
                        str(exc)[:200])
            stats = getattr(getattr(self.spider, "crawler", None), "stats", None)
            if stats is not None:
                stats.inc_value("frontier/rejected")
            return None
