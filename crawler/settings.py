"""Scrapy settings of a crawl, built from `CrawlConfig`: polite by default, no open ports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crawler.config import CrawlConfig


def crawl_settings(cfg: CrawlConfig, raw_dir: Path, crawl_dir: Path, run_dir: Path) -> dict[str, Any]:
    """Settings for one crawl writing to `raw_dir`, keeping its job and cache under `crawl_dir`."""
    settings: dict[str, Any] = {
        "BOT_NAME": "ganstudio",
        # Politeness (all from studio.toml [crawl]).
        "USER_AGENT": cfg.user_agent,
        "ROBOTSTXT_OBEY": cfg.obey_robots,  # a downloader middleware: pages and images alike
        "AUTOTHROTTLE_ENABLED": cfg.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(cfg.download_delay, 1.0),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
        "DOWNLOAD_DELAY": cfg.download_delay,
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
            "crawler.progress.ProgressLine": 500,
        },
        # Breadth-first; depth and page limits are enforced by the spider (images are exempt).
        "DEPTH_LIMIT": 0,
        "DEPTH_PRIORITY": 1,
        "SCHEDULER_DISK_QUEUE": "scrapy.squeues.PickleFifoDiskQueue",
        "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
        # Resume (job dir) and incremental crawls (conditional requests for pages).
        "JOBDIR": str(crawl_dir / "job"),
        "HTTPCACHE_ENABLED": True,
        "HTTPCACHE_DIR": str(crawl_dir / "httpcache"),
        "HTTPCACHE_POLICY": "scrapy.extensions.httpcache.RFC2616Policy",
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
        settings.update(redis_settings(cfg.redis_url))
    return settings


def redis_settings(redis_url: str) -> dict[str, Any]:
    """Share the frontier (queue + seen set) through scrapy-redis; see docs/crawler.md."""
    return {
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,  # an interrupted crawl resumes from Redis instead of JOBDIR
        "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.FifoQueue",  # breadth-first
        "REDIS_URL": redis_url,
        "JOBDIR": None,
    }
