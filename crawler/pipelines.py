"""The pipeline that validates downloaded images and stores them in raw/ (off the reactor thread).

Decoding and hashing run in Twisted's thread pool, so the reactor keeps downloading; every
rejection is logged to `crawl/rejected.jsonl` and counted in the stats under its reason. An
image counts as stored only once its file and its manifest line are both written; a failed
write stops the crawl (`crawler.diskguard`).
"""

from __future__ import annotations

import threading
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from crawler import stats as statkeys
from crawler.diskguard import storage_failed
from crawler.items import ImageItem
from crawler.store import JsonlLog, RawStore, StorageFailed
from crawler.validate import Rejected, validate_image


class OverLimit(Exception):
    """The crawl already stored --max-images images."""


class StoreImagesPipeline:
    def __init__(self, crawler, raw_dir: Path, rejects: Path, min_side: int, max_images: int):
        self.crawler = crawler
        self.stats = crawler.stats
        self.store = RawStore(raw_dir)
        self.rejects = JsonlLog(rejects)
        self.min_side = min_side
        self.max_images = max_images
        self.stored = 0  # new files this crawl; changed only under _limit_lock when limited
        self._limit_lock = threading.Lock() if max_images else nullcontext()
        self.closing = False
        self.failed = False  # a write failed: nothing more is stored

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        return cls(
            crawler,
            raw_dir=Path(s["STUDIO_RAW_DIR"]),
            rejects=Path(s["STUDIO_REJECTS"]),
            min_side=s.getint("STUDIO_MIN_SIDE", 64),
            max_images=s.getint("STUDIO_MAX_IMAGES", 0),
        )

    async def process_item(self, item: ImageItem) -> dict:
        host = urlsplit(item.url).hostname or ""
        self.stats.inc_value(statkeys.IMAGES_DOWNLOADED)
        self.stats.inc_value(statkeys.BYTES_DOWNLOADED, len(item.body))
        self.stats.inc_value(statkeys.domain(host, "images"))
        if self.failed:
            raise DropItem("the workspace cannot be written")
        if self.closing:
            self.stats.inc_value(statkeys.IMAGES_OVER_LIMIT)
            raise DropItem("max_images reached")
        try:
            record, new = await maybe_deferred_to_future(deferToThread(self._validate_and_store, item))
        except StorageFailed as exc:
            self.failed = True
            self.stats.inc_value(statkeys.IMAGES_NOT_WRITTEN)
            storage_failed(self.crawler, exc)
            raise DropItem(str(exc)) from None
        except OverLimit:
            self.stats.inc_value(statkeys.IMAGES_OVER_LIMIT)
            raise DropItem("max_images reached") from None
        except Rejected as exc:
            self.stats.inc_value(statkeys.rejected(exc.reason))
            self.stats.inc_value(statkeys.domain(host, "rejected"))
            raise DropItem(f"{exc.reason}: {item.url}") from None
        if new:
            self.stats.inc_value(statkeys.STORED)
            self.stats.inc_value(statkeys.BYTES_STORED, len(item.body))
            self.stats.inc_value(statkeys.domain(host, "stored"))
            if self.max_images and self.stored >= self.max_images and not self.closing:
                self.closing = True
                deferred_from_coro(self.crawler.engine.close_spider_async(reason="max_images"))
        else:
            self.stats.inc_value(statkeys.DUPLICATES)
        return record

    def _validate_and_store(self, item: ImageItem) -> tuple[dict, bool]:
        """Runs in a worker thread: decode, hash, write the file and the manifest line."""
        now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        try:
            info = validate_image(item.body, self.min_side)
        except Rejected as exc:
            self.rejects.append(
                {"url": item.url, "page_url": item.page_url, "reason": exc.reason,
                 "detail": exc.detail[:200], "at": now}
            )
            raise
        with self._limit_lock:  # --max-images: reserve a slot before writing, across threads
            if self.max_images and self.stored >= self.max_images:
                raise OverLimit
            sha, path, new = self.store.put(item.body, info.ext)
            self.stored += new
        record = {
            "url": item.url,
            "page_url": item.page_url,
            "sha256": sha,
            "path": path,
            "width": info.width,
            "height": info.height,
            "bytes": len(item.body),
            "content_type": item.content_type,
            "fetched_at": now,
            "alt": item.alt,
        }
        try:
            self.store.manifest.append(record)
        except StorageFailed:
            if new:  # no manifest line, no file: raw/ never holds an image the manifest lacks
                self.store.remove(sha, info.ext)
                with self._limit_lock:
                    self.stored -= 1
            raise
        return record, new
