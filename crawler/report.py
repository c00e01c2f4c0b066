"""What a finished crawl reports: `stats.json` (our counters by name) and the end line, and the
one reader of those files, `list_crawls`.

The end line says why the crawl stopped, and when a limit stopped it early, how much it left
and which setting to raise. Each crawl writes `<crawl dir>/<UTC timestamp>/stats.json`
(crawler.run) when it ends; a crawl folder without one is still running or was killed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from records import read_json

STATS_FILE = "stats.json"


@dataclass(frozen=True)
class Crawl:
    """One finished crawl: its folder name (a UTC timestamp, so names sort by time) and stats."""

    id: str
    path: Path  # the crawl's folder
    stats: dict[str, Any] | None  # its stats.json; None when damaged (edited or truncated by hand)


def list_crawls(crawl_dir: Path) -> list[Crawl]:
    """Every finished crawl under `crawl_dir` (a workspace's `crawl/`), oldest first."""
    return [Crawl(p.parent.name, p.parent, read_json(p))
            for p in sorted(Path(crawl_dir).glob(f"*/{STATS_FILE}"))]


def summarize(
    raw: dict[str, Any],
    started_at: datetime,
    duration: float,
    start_urls: list[str],
    domains: list[str],
    resumed: bool,
    known: set[str],
    image_domains: list[str] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    """The `stats.json` of a crawl: our counters by name, plus Scrapy's raw stats."""

    def prefixed(prefix: str) -> dict[str, Any]:
        return {k[len(prefix):]: v for k, v in sorted(raw.items()) if k.startswith(prefix)}

    domains_stats: dict[str, dict[str, int]] = {}
    for key, value in prefixed("studio/domain/").items():
        host, _, counter = key.rpartition("/")
        domains_stats.setdefault(host, {})[counter] = value
    queued = max(0, raw.get("scheduler/enqueued", 0) - raw.get("scheduler/dequeued", 0))
    responses = raw.get("response_received_count", 0)
    return {
        "started_at": started_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "duration_s": round(duration, 3),
        "finish_reason": raw.get("finish_reason"),
        "resumed": resumed,
        "start_urls": start_urls,
        "allowed_domains": domains,
        "image_domains": list(image_domains),
        "known_urls_at_start": len(known),
        "pages": raw.get("studio/pages", 0),
        "pages_from_cache": raw.get("studio/pages_from_cache", 0),
        "pages_not_html": raw.get("studio/pages_not_html", 0),
        "pages_left": raw.get("studio/pages_left", 0),
        "links_too_deep": raw.get("studio/links_too_deep", 0),
        "requests_left": queued,
        "sitemaps": raw.get("studio/sitemaps", 0),
        "sitemap_pages": raw.get("studio/sitemap_pages", 0),
        "malformed_urls": raw.get("studio/malformed_urls", 0),
        "images_found": raw.get("studio/images_found", 0),
        "images_known": raw.get("studio/images_known", 0),
        "images_offsite": raw.get("studio/images_offsite", 0),
        "images_downloaded": raw.get("studio/images_downloaded", 0),
        "images_not_written": raw.get("studio/images_not_written", 0),
        "stored": raw.get("studio/stored", 0),
        "duplicates": raw.get("studio/duplicates", 0),
        "rejected": prefixed("studio/rejected/"),
        "failed_images": prefixed("studio/failed/images/"),
        "failed_pages": prefixed("studio/failed/pages/"),
        "failed_sitemaps": prefixed("studio/failed/sitemaps/"),
        "bytes_downloaded": raw.get("studio/bytes_downloaded", 0),
        "bytes_stored": raw.get("studio/bytes_stored", 0),
        "domains": domains_stats,
        "robots": prefixed("studio/robots/"),
        "crawl_delay": prefixed("studio/crawl_delay/"),
        "requests_per_s": round(responses / duration, 3) if duration > 0 else 0.0,
        "http_status": prefixed("downloader/response_status_count/"),
        "conditional_304": raw.get("httpcache/revalidate", 0),
        "retries": raw.get("retry/count", 0),
        "robots_forbidden": raw.get("robotstxt/forbidden", 0),
        "offsite_filtered": raw.get("offsite/filtered", 0),
        "job_bad_entries": raw.get("studio/job_bad_entries", 0),
        "storage_error": raw.get("studio/storage_error", ""),
        "scrapy": {k: v for k, v in raw.items() if not k.startswith("studio/")},
    }


def end_line(stats: dict[str, Any], max_pages: int, max_images: int, depth: int) -> str:
    """One line: why the crawl stopped and, if a limit stopped it, what to raise."""
    reason = stats.get("finish_reason")
    if reason == "max_images":
        return (f"stopped at max_images={max_images}; {stats['requests_left']} requests left in the queue "
                f"— raise [crawl] max_images (or --max-images)")
    if reason != "finished":
        return f"stopped: {reason}; run `studio crawl` again to resume"
    if stats.get("pages_left"):
        return (f"stopped at max_pages={max_pages}; {stats['pages_left']} pages left "
                f"— raise [crawl] max_pages (or --max-pages)")
    if stats.get("links_too_deep"):
        return (f"finished: nothing left within depth={depth}; {stats['links_too_deep']} links deeper "
                f"were not followed — raise [crawl] depth (or --depth) to follow them")
    return "finished: every page reachable within the allowed hosts was crawled"
