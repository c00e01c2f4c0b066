"""One shared (scrapy-redis) crawl at a time per set of start URLs: keys, workers, seen set.

Keys are `studio:<scope>:requests|dupefilter|workers`, `<scope>` a hash of the start URLs and
allowed hosts, so unrelated crawls on one Redis never mix. Live workers are a sorted set scored
by when their heartbeat expires. A worker that joins when no worker is alive and the queue is
empty starts a new crawl: the previous crawl's seen set is dropped (it made every later shared
crawl skip everything). The last worker to leave a finished crawl drops it too. A crawl whose
workers were all killed keeps its queue and seen set, and the next workers resume it.

`studio:<scope>:known` collects the image URLs every worker has stored or rejected (it is never
dropped): each worker adds its own at start and skips everyone's, so a re-crawl does not fetch
again what another worker already has.
"""

from __future__ import annotations

import hashlib
import json
import time

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from crawler import stats as statkeys

HEARTBEAT_S = 5.0
EXPIRES_S = 30.0  # a worker silent for this long is presumed dead

# KEYS: workers, queue, dupefilter. ARGV: now, worker id, expiry. Returns 1 for a fresh crawl.
JOIN = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local fresh = 0
if redis.call('ZCARD', KEYS[1]) == 0 and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[3])
  fresh = 1
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
return fresh
"""
# KEYS: workers, queue, dupefilter. ARGV: now, worker id. Returns 1 if it closed the crawl.
LEAVE = """
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) == 0 and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[3], KEYS[1])
  return 1
end
return 0
"""


def frontier_prefix(start_urls: list[str], domains: list[str]) -> str:
    digest = hashlib.sha256(json.dumps([sorted(start_urls), sorted(domains)]).encode()).hexdigest()
    return f"studio:{digest[:12]}"


def keys(prefix: str) -> list[str]:
    return [f"{prefix}:workers", f"{prefix}:requests", f"{prefix}:dupefilter"]


def join(client, prefix: str, worker: str) -> bool:
    """Register `worker`; True when this starts a new shared crawl (seen set dropped)."""
    now = time.time()
    return bool(client.eval(JOIN, 3, *keys(prefix), now, worker, now + EXPIRES_S))


def share_known(client, prefix: str, urls: set[str]) -> set[str]:
    """Add our known image URLs to the shared set; return everyone's."""
    key = f"{prefix}:known"
    batch = list(urls)
    for i in range(0, len(batch), 1000):
        client.sadd(key, *batch[i:i + 1000])
    return {u.decode("utf-8", "replace") for u in client.sscan_iter(key, count=1000)}


class WorkerHeartbeat:
    """Keeps this worker's registration alive while it crawls; leaves the crawl when closed."""

    def __init__(self, crawler, url: str, prefix: str, worker: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=5)
        self.prefix = prefix
        self.worker = worker
        self.crawler = crawler
        self.loop = task.LoopingCall(self.beat)

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        if not s.get("REDIS_URL") or not s.get("STUDIO_REDIS_WORKER"):
            raise NotConfigured
        ext = cls(crawler, s["REDIS_URL"], s["STUDIO_REDIS_PREFIX"], s["STUDIO_REDIS_WORKER"])
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider) -> None:
        self.loop.start(HEARTBEAT_S, now=True)

    def beat(self) -> None:
        try:
            self.client.zadd(f"{self.prefix}:workers", {self.worker: time.time() + EXPIRES_S})
        except Exception:  # a parser or a Redis error must not stop the crawl
            self.crawler.stats.inc_value(statkeys.REDIS_HEARTBEAT_ERRORS)

    def spider_closed(self, spider, reason) -> None:
        if self.loop.running:
            self.loop.stop()
        try:
            closed = self.client.eval(LEAVE, 3, *keys(self.prefix), time.time(), self.worker)
            self.crawler.stats.set_value(statkeys.REDIS_CLOSED_CRAWL, bool(closed))
        except Exception:  # a parser or a Redis error must not stop the crawl
            self.crawler.stats.inc_value(statkeys.REDIS_HEARTBEAT_ERRORS)
