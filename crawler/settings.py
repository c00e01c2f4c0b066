"""Scrapy settings of a crawl, built from `CrawlConfig`: polite by default, no open ports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crawler.config import CrawlConfig


def crawl_settings(
    cfg: CrawlConfig,
    raw_dir: Path,
    crawl_dir: Path,
    run_dir: Path,
    page_domains: list[str] = (),  # type: ignore[assignment]
    image_domains: list[str] = (),  # type: ignore[assignment]
    redis_prefix: str = "studio:frontier",
) -> dict[str, Any]:
    """Settings for one crawl writing to `raw_dir`, keeping its job and cache under `crawl_dir`."""
    settings: dict[str, Any] = {
        "BOT_NAME": "ganstudio",
        # Politeness (all from studio.toml [crawl]).
        "USER_AGENT": cfg.user_agent,
        "ROBOTSTXT_OBEY": cfg.obey_robots,  # a downloader middleware: pages and images alike
        "DOWNLOADER_MIDDLEWARES": {
            # The stock one lets requests through while robots.txt loads, and reads a 5xx as "allow".
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawler.robots.StrictRobotsTxtMiddleware": 100,
            # The stock one has one host list; pages and images have two.
            "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
            "crawler.offsite.HostPolicyMiddleware": 50,
        },
        "STUDIO_PAGE_DOMAINS": list(page_domains),
        "STUDIO_IMAGE_DOMAINS": list(image_domains),
        # Pace: crawler.pace (Crawl-delay floor + AutoThrottle's rule) replaces AutoThrottle.
        "AUTOTHROTTLE_ENABLED": False,
        "STUDIO_AUTOTHROTTLE": cfg.autothrottle,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
        "AUTOTHROTTLE_MAX_DELAY": 60.0,
        "DOWNLOAD_DELAY": cfg.download_delay,
        "DOWNLOAD_DELAY_JITTER": 0.0,  # see crawler.pace: jitter cost a fifth of the rate
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": cfg.concurrency_per_domain,
        "COOKIES_ENABLED": False,
        # Robustness.
        "DOWNLOAD_MAXSIZE": cfg.max_bytes,
        "DOWNLOAD_WARNSIZE": cfg.max_bytes // 2,
        "DOWNLOAD_TIMEOUT": cfg.timeout_s,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": cfg.retries,
        "REDIRECT_ENABLED": True,  # redirects are rescheduled: offsite + robots filter them again
        "REDIRECT_MAX_TIMES": 5,
        # Nothing listens: no telnet console, no remote-control HTTP server (on by default in 2.19).
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "EXTENSIONS": {
            "scrapy.extensions.telnet.TelnetConsole": None,
            "scrapy.extensions.remote_control.RemoteControl": None,
            "scrapy.extensions.spiderstate.SpiderState": None,  # unpickles spider.state
            "crawler.state.JsonSpiderState": 0,
            "crawler.pace.HostPace": 10,
            "crawler.progress.ProgressLine": 500,
        },
        # Breadth-first; depth and page limits are enforced by the spider (images are exempt).
        # The default DownloaderAwarePriorityQueue serves hosts in parallel.
        "DEPTH_LIMIT": 0,
        "DEPTH_PRIORITY": 1,
        # Resume (job dir): queues and state as JSON, nothing in crawl/ is ever unpickled.
        "SCHEDULER_DISK_QUEUE": "crawler.jsonqueue.JsonFifoDiskQueue",
        "SCHEDULER_START_DISK_QUEUE": "crawler.jsonqueue.JsonFifoDiskQueue",
        "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
        "JOBDIR": str(crawl_dir / "job"),
        # Incremental crawls: conditional requests for pages, sitemap <lastmod> (crawler.httpcache).
        "HTTPCACHE_ENABLED": True,
        "HTTPCACHE_DIR": str(crawl_dir / "httpcache"),
        "HTTPCACHE_STORAGE": "crawler.httpcache.JsonCacheStorage",
        "HTTPCACHE_POLICY": "crawler.httpcache.RecrawlPolicy",
        "ITEM_PIPELINES": {"crawler.pipelines.StoreImagesPipeline": 300},
        "LOG_FILE": str(run_dir / "crawl.log"),
        "LOG_LEVEL": "INFO",
        "LOGSTATS_INTERVAL": 0,
        # Ours, read by the pipeline.
        "STUDIO_RAW_DIR": str(raw_dir),
        "STUDIO_REJECTS": str(crawl_dir / "rejected.jsonl"),
        "STUDIO_MIN_SIDE": cfg.min_side,
        "STUDIO_MAX_IMAGES": cfg.max_images,
    }
    if cfg.redis_url:
        extra = redis_settings(cfg, redis_prefix)
        extra["EXTENSIONS"] = {**settings["EXTENSIONS"], **extra["EXTENSIONS"]}
        settings.update(extra)
    return settings


def redis_settings(cfg: CrawlConfig, prefix: str = "studio:frontier") -> dict[str, Any]:
    """Share the frontier (queue + seen set) through scrapy-redis; see docs/crawler.md.

    Keys live under `prefix` (crawler.redis_scope: one per set of start URLs and hosts), and the
    seen set is dropped when a new shared crawl starts after the last one finished.

    Only where requests wait and how they are deduplicated changes: politeness, limits and
    storage stay as above (tests/crawler/test_redis_frontier.py checks that).
    """
    return {
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        # Never flush on close: the first worker to finish would wipe the others' queue.
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_QUEUE_CLASS": "crawler.redis_queue.SafeFifoQueue",  # breadth-first; skips bad entries
        "SCHEDULER_SERIALIZER": "crawler.redis_codec",  # JSON, not pickle: nothing unpickled from Redis
        "SCHEDULER_QUEUE_KEY": f"{prefix}:requests",
        "SCHEDULER_DUPEFILTER_KEY": f"{prefix}:dupefilter",
        "STUDIO_REDIS_PREFIX": prefix,
        "REDIS_URL": cfg.redis_url,
        "JOBDIR": None,  # Redis holds the resumable state
        "EXTENSIONS": {"crawler.redis_idle.SharedQueueIdleGrace": 510, "crawler.redis_scope.WorkerHeartbeat": 520},
        "STUDIO_REDIS_IDLE_S": cfg.redis_idle_s,
        # Take from the shared queue only what can be downloaded now (Scrapy would pull up to 16
        # into its own slot queues): the other workers get the rest, and a killed worker loses
        # only its in-flight requests (scrapy-redis pops are final).
        "CONCURRENT_REQUESTS": cfg.concurrency_per_domain,
    }
