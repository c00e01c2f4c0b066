"""Run one crawl in this process: job-dir lifecycle (resume), Scrapy's engine, `stats.json`.

The Twisted reactor starts once per process, so `run_crawl` can be called once per process;
the `studio crawl` command is that process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
import logging
import os
import shutil
import socket
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from crawler.config import CrawlConfig
from crawler.errors import CrawlError
from crawler.extract import has_credentials, redacted
from crawler.redis_scope import frontier_prefix
from crawler.report import STATS_FILE, crawl_failure, end_line, summarize
from crawler.stats import STORAGE_ERROR, CrawlStats
from crawler.store import RawStore, StorageFailed
from records import iter_jsonl, write_atomic

JOB_META = "studio-job.json"
# Bumped when the job dir's format changes: a job of another format is discarded, never read
# (format 1 held pickled queues and a pickled spider.state).
JOB_FORMAT = 2
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
# Finish reasons after which the crawl is complete and its job dir can go.
COMPLETE_REASONS = {"finished", "max_images"}


@dataclass(frozen=True)
class CrawlResult:
    stats: CrawlStats  # what stats.json holds
    stats_path: Path
    interrupted: bool  # stopped early (Ctrl-C, SIGTERM): the next crawl resumes


def normalize_start_urls(urls: list[str]) -> list[str]:
    """Check start URLs up front: http(s) with a host and no credentials, else a one-line
    CrawlError (which never repeats a password)."""
    out = []
    for url in urls:
        url = url.strip()
        try:
            parts = urlsplit(url)
        except ValueError:  # an unbalanced IPv6 bracket
            raise CrawlError(f"not an http(s) URL: {redacted(url)!r}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CrawlError(f"not an http(s) URL: {redacted(url)!r}")
        if has_credentials(url):
            raise CrawlError(f"{redacted(url)} has a user name or password in it: the crawler "
                             "never sends credentials (it crawls what is open to everyone); "
                             "remove the part before '@'")
        try:
            parts.port  # noqa: B018 (raises ValueError on a bad port)
        except ValueError:
            raise CrawlError(f"bad port in URL: {redacted(url)!r}") from None
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
    image_domains = ["*"] if "*" in cfg.image_domains else normalize_domains([], cfg.image_domains)
    prefix = frontier_prefix(start_urls, domains)
    fresh_frontier = None
    if cfg.redis_url:
        _check_redis(cfg.redis_url)
        fresh_frontier = _join_redis(cfg.redis_url, prefix)

    # Our validator rejects images over Pillow's limit itself; the warning would only be noise.
    from PIL import Image
    from scrapy.crawler import CrawlerProcess  # heavy: imported only when crawling

    from crawler.settings import crawl_settings
    from crawler.spiders.images import ImageSpider

    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
    # A full disk must not turn every log line into a traceback on stderr (crawl.log is a file).
    logging.raiseExceptions = False

    try:
        crawl_dir.mkdir(parents=True, exist_ok=True)
        run_dir = _new_run_dir(crawl_dir)
        resumed = _prepare_job_dir(crawl_dir / "job", start_urls, domains)
    except OSError as exc:
        raise CrawlError(str(StorageFailed(exc.filename or crawl_dir, exc))) from None
    known = RawStore(raw_dir).known_urls() | _rejected_urls(crawl_dir / "rejected.jsonl")
    if cfg.redis_url:
        known = _share_known(cfg.redis_url, prefix, known)

    started_at = datetime.now(UTC)
    t0 = time.monotonic()
    settings = crawl_settings(cfg, raw_dir, crawl_dir, run_dir, domains, image_domains, prefix)
    if cfg.redis_url:
        settings["STUDIO_REDIS_WORKER"] = WORKER_ID
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(ImageSpider)
    process.crawl(
        crawler,
        start_urls=start_urls,
        allowed_domains=domains,
        image_domains=image_domains,
        known_urls=known,
        max_pages=cfg.max_pages,
        depth=cfg.depth,
        sitemaps=cfg.sitemaps,
    )
    process.start()
    duration = time.monotonic() - t0
    if cfg.redis_url:  # what this worker stored, for the other workers' next crawls
        with contextlib.suppress(CrawlError):
            _share_known(cfg.redis_url, prefix,
                         RawStore(raw_dir).known_urls() | _rejected_urls(crawl_dir / "rejected.jsonl"))

    raw_stats = crawler.stats.get_stats() if crawler.stats else {}
    reason = str(raw_stats.get("finish_reason", "unknown"))
    interrupted = reason not in COMPLETE_REASONS
    if reason == "storage_error" or (not interrupted and not cfg.redis_url):
        # A job written to a failing disk cannot be trusted for resume; known images are not
        # fetched again anyway (manifest), so the next crawl starts over cheaply.
        shutil.rmtree(crawl_dir / "job", ignore_errors=True)
    stats = summarize(raw_stats, started_at, duration, start_urls, domains, resumed, known, image_domains)
    stats = dataclasses.replace(stats, frontier={"prefix": prefix, "fresh": fresh_frontier} if cfg.redis_url else None)
    stats = dataclasses.replace(stats, end=end_line(stats, cfg.max_pages, cfg.max_images, cfg.depth))
    stats_path = run_dir / STATS_FILE
    try:
        write_atomic(stats_path, (json.dumps(stats.to_dict(), indent=2, sort_keys=True, default=str) + "\n").encode())
    except OSError as exc:
        if reason != "storage_error":
            raise CrawlError(str(StorageFailed(stats_path, exc))) from None
    if reason == "storage_error":
        raise CrawlError(
            f"{raw_stats.get(STORAGE_ERROR)}; stopped after storing {stats.stored} images "
            "(each one complete and in raw/manifest.jsonl); free space or fix the folder, then crawl again"
        )
    failure = crawl_failure(stats)
    if failure:  # stats.json stays: the crawl's record, with what each start page answered
        raise CrawlError("; ".join(failure))
    return CrawlResult(stats, stats_path, interrupted)


def _share_known(url: str, prefix: str, known: set[str]) -> set[str]:
    from crawler.redis_scope import share_known

    with _redis(url, timeout=30) as client:
        return share_known(client, prefix, known)


def _join_redis(url: str, prefix: str) -> bool:
    """Register this worker in the shared crawl; True when it starts a new one."""
    from crawler.redis_scope import join

    with _redis(url, timeout=3) as client:
        return join(client, prefix, WORKER_ID)


@contextlib.contextmanager
def _redis(url: str, timeout: float):
    """A client of the shared frontier's Redis; an unreachable server is one CrawlError."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=timeout)
    try:
        yield client
    except redis.RedisError as exc:
        raise CrawlError(f"[crawl] redis_url {url}: cannot reach Redis ({exc})") from None
    finally:
        client.close()


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
    meta = {"format": JOB_FORMAT, "start_urls": start_urls, "allowed_domains": domains}
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
