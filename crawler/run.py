"""Run one crawl in this process: job-dir lifecycle (resume), Scrapy's engine, `stats.json`.

The Twisted reactor starts once per process, so `run_crawl` can be called once per process;
the `studio crawl` command is that process.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.config import CrawlConfig
from crawler.errors import CrawlError
from crawler.store import RawStore, iter_jsonl, write_atomic

JOB_META = "studio-job.json"
# Finish reasons after which the crawl is complete and its job dir can go.
COMPLETE_REASONS = {"finished", "max_images"}


@dataclass
class CrawlResult:
    stats: dict[str, Any]  # what stats.json holds
    stats_path: Path
    interrupted: bool  # stopped early (Ctrl-C, SIGTERM): the next crawl resumes


def normalize_start_urls(urls: list[str]) -> list[str]:
    """Check start URLs up front: http(s) with a host, else a one-line CrawlError."""
    out = []
    for url in urls:
        url = url.strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CrawlError(f"not an http(s) URL: {url!r}")
        try:
            parts.port  # noqa: B018 (raises ValueError on a bad port)
        except ValueError:
            raise CrawlError(f"bad port in URL: {url!r}") from None
        out.append(url)
    return out


def normalize_domains(start_urls: list[str], extra: list[str]) -> list[str]:
    """Hostnames allowed: those of the start URLs plus `extra` (host names or URLs, no ports)."""
    hosts = []
    for item in [*start_urls, *extra]:
        item = item.strip().lower()
        host = urlsplit(item if "://" in item else f"//{item}").hostname
        if not host:
            raise CrawlError(f"not a host name: {item!r}")
        if host not in hosts:
            hosts.append(host)
    return hosts


def _check_redis(url: str) -> None:
    """Fail up front, in one line, when the shared frontier is unusable (not mid-crawl in Twisted)."""
    if importlib.util.find_spec("scrapy_redis") is None:
        raise CrawlError("[crawl] redis_url is set but scrapy-redis is not installed (pip install scrapy-redis)")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except (redis.RedisError, ValueError) as exc:
        raise CrawlError(f"[crawl] redis_url {url}: cannot reach Redis ({exc})") from None


def run_crawl(
    raw_dir: Path,
    crawl_dir: Path,
    start_urls: list[str],
    allow_domains: list[str],
    cfg: CrawlConfig,
) -> CrawlResult:
    """Crawl from `start_urls`, storing images under `raw_dir`; blocks until the crawl ends."""
    if not start_urls:
        raise CrawlError("no start URLs: pass --url or set [sources] urls in studio.toml")
    start_urls = normalize_start_urls(start_urls)
    domains = normalize_domains(start_urls, allow_domains)
    if cfg.redis_url:
        _check_redis(cfg.redis_url)

    # Our validator rejects images over Pillow's limit itself; the warning would only be noise.
    from PIL import Image
    from scrapy.crawler import CrawlerProcess  # heavy: imported only when crawling

    from crawler.settings import crawl_settings
    from crawler.spiders.images import ImageSpider

    warnings.simplefilter("ignore", Image.DecompressionBombWarning)

    crawl_dir.mkdir(parents=True, exist_ok=True)
    run_dir = _new_run_dir(crawl_dir)
    resumed = _prepare_job_dir(crawl_dir / "job", start_urls, domains)
    known = RawStore(raw_dir).known_urls() | _rejected_urls(crawl_dir / "rejected.jsonl")

    started_at = datetime.now(UTC)
    t0 = time.monotonic()
    process = CrawlerProcess(crawl_settings(cfg, raw_dir, crawl_dir, run_dir))
    crawler = process.create_crawler(ImageSpider)
    process.crawl(
        crawler,
        start_urls=start_urls,
        allowed_domains=domains,
        known_urls=known,
        max_pages=cfg.max_pages,
        depth=cfg.depth,
    )
    process.start()
    duration = time.monotonic() - t0

    raw_stats = crawler.stats.get_stats() if crawler.stats else {}
    reason = str(raw_stats.get("finish_reason", "unknown"))
    interrupted = reason not in COMPLETE_REASONS
    if not interrupted and not cfg.redis_url:
        shutil.rmtree(crawl_dir / "job", ignore_errors=True)
    stats = summarize(raw_stats, started_at, duration, start_urls, domains, resumed, known)
    stats_path = run_dir / "stats.json"
    write_atomic(stats_path, (json.dumps(stats, indent=2, sort_keys=True, default=str) + "\n").encode())
    return CrawlResult(stats, stats_path, interrupted)


def summarize(
    raw: dict[str, Any],
    started_at: datetime,
    duration: float,
    start_urls: list[str],
    domains: list[str],
    resumed: bool,
    known: set[str],
) -> dict[str, Any]:
    """The `stats.json` of a crawl: our counters by name, plus Scrapy's raw stats."""

    def prefixed(prefix: str) -> dict[str, int]:
        return {k[len(prefix):]: v for k, v in sorted(raw.items()) if k.startswith(prefix)}

    domains_stats: dict[str, dict[str, int]] = {}
    for key, value in prefixed("studio/domain/").items():
        host, _, counter = key.rpartition("/")
        domains_stats.setdefault(host, {})[counter] = value
    return {
        "started_at": started_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "duration_s": round(duration, 3),
        "finish_reason": raw.get("finish_reason"),
        "resumed": resumed,
        "start_urls": start_urls,
        "allowed_domains": domains,
        "known_urls_at_start": len(known),
        "pages": raw.get("studio/pages", 0),
        "pages_not_html": raw.get("studio/pages_not_html", 0),
        "images_found": raw.get("studio/images_found", 0),
        "images_known": raw.get("studio/images_known", 0),
        "images_offsite": raw.get("studio/images_offsite", 0),
        "images_downloaded": raw.get("studio/images_downloaded", 0),
        "stored": raw.get("studio/stored", 0),
        "duplicates": raw.get("studio/duplicates", 0),
        "rejected": prefixed("studio/rejected/"),
        "failed_images": prefixed("studio/failed/images/"),
        "failed_pages": prefixed("studio/failed/pages/"),
        "bytes_downloaded": raw.get("studio/bytes_downloaded", 0),
        "bytes_stored": raw.get("studio/bytes_stored", 0),
        "domains": domains_stats,
        "http_status": prefixed("downloader/response_status_count/"),
        "retries": raw.get("retry/count", 0),
        "robots_forbidden": raw.get("robotstxt/forbidden", 0),
        "offsite_filtered": raw.get("offsite/filtered", 0),
        "scrapy": {k: v for k, v in raw.items() if not k.startswith("studio/")},
    }


def _new_run_dir(crawl_dir: Path) -> Path:
    """`crawl/<UTC timestamp>/`, with a suffix if two crawls start in the same second."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for n in range(1, 1000):
        path = crawl_dir / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
    raise CrawlError(f"cannot create a run folder in {crawl_dir}")


def _prepare_job_dir(job_dir: Path, start_urls: list[str], domains: list[str]) -> bool:
    """Keep an unfinished job of the same crawl (resume); drop one of a different crawl."""
    meta = {"start_urls": start_urls, "allowed_domains": domains}
    meta_path = job_dir / JOB_META
    if job_dir.exists():
        try:
            same = json.loads(meta_path.read_text(encoding="utf-8")) == meta
        except (OSError, ValueError):
            same = False
        if same:
            return True
        shutil.rmtree(job_dir)
    job_dir.mkdir(parents=True)
    write_atomic(meta_path, json.dumps(meta).encode())
    return False


def _rejected_urls(path: Path) -> set[str]:
    """URLs whose bytes failed validation before: not downloaded again."""
    return {r["url"] for r in iter_jsonl(path) if "url" in r}
