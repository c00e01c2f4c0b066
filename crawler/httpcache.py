"""The HTTP cache of pages (`crawl/httpcache/`): JSON, never pickle, and a re-crawl policy.

Scrapy's FilesystemCacheStorage keeps `pickled_meta` and `response_data` as pickles, read back on
every cache hit: a crafted cache in a workspace received from someone else would run code. Here
an entry is `entry.json` (status, URL, headers, fetch time) plus `body`, written atomically.

The policy (RFC 2616 underneath) decides what a re-crawl costs:
- a page whose sitemap `<lastmod>` is older than our cached copy is not requested at all;
- a page whose server gave explicit freshness (`Cache-Control: max-age`, `Expires`) is not
  requested while fresh;
- every other cached page is revalidated (If-None-Match / If-Modified-Since): 304 if unchanged.
  Scrapy's heuristic freshness from `Last-Modified` alone is not used: a listing page gains new
  images without its old posts changing.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

from scrapy.extensions.httpcache import RFC2616Policy
from scrapy.http import Headers
from scrapy.responsetypes import responsetypes

from crawler.diskguard import storage_failed
from crawler.store import StorageFailed
from records import write_atomic

LASTMOD = "studio_lastmod"  # request meta: the page's <lastmod> from a sitemap (ISO 8601)


class JsonCacheStorage:
    def __init__(self, settings):
        self.cachedir = Path(settings["HTTPCACHE_DIR"])
        self.expiration_secs = settings.getint("HTTPCACHE_EXPIRATION_SECS")
        self.crawler = None

    def open_spider(self, spider) -> None:
        self.crawler = spider.crawler
        self._fingerprinter = spider.crawler.request_fingerprinter

    def close_spider(self, spider) -> None:
        pass

    def _dir(self, spider, request) -> Path:
        key = self._fingerprinter.fingerprint(request).hex()
        return self.cachedir / spider.name / key[:2] / key

    def retrieve_response(self, spider, request):
        folder = self._dir(spider, request)
        try:
            entry = json.loads((folder / "entry.json").read_text(encoding="utf-8"))
            body = (folder / "body").read_bytes()
            if 0 < self.expiration_secs < time.time() - float(entry["timestamp"]):
                return None
            headers = Headers({k: list(v) for k, v in entry["headers"].items()})
            url, status = str(entry["response_url"]), int(entry["status"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # missing or damaged: fetch again
        request.meta["cache_timestamp"] = float(entry["timestamp"])
        cls = responsetypes.from_args(headers=headers, url=url, body=body)
        return cls(url=url, status=status, headers=headers, body=body)

    def store_response(self, spider, request, response) -> None:
        folder = self._dir(spider, request)
        entry = {
            "url": request.url,
            "method": request.method,
            "status": response.status,
            "response_url": response.url,
            "timestamp": time.time(),
            "headers": {
                k.decode("latin-1"): [v.decode("latin-1") for v in vs] for k, vs in response.headers.items()
            },
        }
        try:
            write_atomic(folder / "body", response.body)
            write_atomic(folder / "entry.json", json.dumps(entry).encode())  # last: the commit
        except OSError as exc:
            storage_failed(self.crawler, StorageFailed(folder, exc))


def parse_lastmod(value: str) -> float | None:
    """Epoch seconds of a sitemap <lastmod> (W3C datetime); a bare date means its end (safe side)."""
    value = (value or "").strip()
    try:
        if len(value) == 10:  # YYYY-MM-DD: changed some time that day
            return datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp() + 86400
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


class RecrawlPolicy(RFC2616Policy):
    def is_cached_response_fresh(self, cachedresponse, request) -> bool:
        lastmod = parse_lastmod(request.meta.get(LASTMOD) or "")
        fetched = request.meta.get("cache_timestamp")
        if lastmod is not None and fetched is not None and lastmod < fetched and cachedresponse.status == 200:
            return True  # the site's sitemap says it has not changed since we fetched it
        cc = self._parse_cachecontrol(cachedresponse)
        if b"max-age" in cc or b"Expires" in cachedresponse.headers:
            return super().is_cached_response_fresh(cachedresponse, request)
        self._set_conditional_validators(request, cachedresponse)
        return False
