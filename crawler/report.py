"""What a finished crawl reports: `stats.json` (a `crawler.stats.CrawlStats`) and the end line,
and the readers of those files, `list_crawls` and `crawl_stats`.

The end line says why the crawl stopped, and when a limit stopped it early, how much it left
and which setting to raise. Each crawl writes `<crawl dir>/<UTC timestamp>/stats.json`
(crawler.run) when it ends; a crawl folder without one is still running or was killed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler import stats as statkeys
from crawler.stats import CrawlStats
from records import read_json

STATS_FILE = "stats.json"


@dataclass(frozen=True)
class Crawl:
    """One finished crawl: its folder name (a UTC timestamp, so names sort by time) and stats."""

    id: str
    path: Path  # the crawl's folder
    stats: CrawlStats | None  # its stats.json; None when damaged (edited or truncated by hand)


def crawl_stats(crawl_dir: Path, crawl_id: str) -> CrawlStats | None:
    """The stats of crawl `crawl_id`; None when it wrote none or they cannot be read."""
    return CrawlStats.from_dict(read_json(Path(crawl_dir) / crawl_id / STATS_FILE))


def list_crawls(crawl_dir: Path) -> list[Crawl]:
    """Every finished crawl under `crawl_dir` (a workspace's `crawl/`), oldest first."""
    return [Crawl(p.parent.name, p.parent, CrawlStats.from_dict(read_json(p)))
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
) -> CrawlStats:
    """The `stats.json` of a crawl from Scrapy's raw stats: our counters by name, plus Scrapy's."""

    def prefixed(prefix: str) -> dict[str, Any]:
        return {k[len(prefix):]: v for k, v in sorted(raw.items()) if k.startswith(prefix)}

    domains_stats: dict[str, dict[str, int]] = {}
    for key, value in prefixed(statkeys.DOMAIN).items():
        host, _, counter = key.rpartition("/")
        domains_stats.setdefault(host, {})[counter] = value
    queued = max(0, raw.get("scheduler/enqueued", 0) - raw.get("scheduler/dequeued", 0))
    responses = raw.get("response_received_count", 0)
    return CrawlStats(
        started_at=started_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        duration_s=round(duration, 3),
        finish_reason=raw.get("finish_reason"),
        resumed=resumed,
        start_urls=start_urls,
        start_pages=dict(raw.get(statkeys.START_PAGES) or {}),
        allowed_domains=domains,
        image_domains=list(image_domains),
        known_urls_at_start=len(known),
        pages=raw.get(statkeys.PAGES, 0),
        pages_from_cache=raw.get(statkeys.PAGES_FROM_CACHE, 0),
        pages_not_html=raw.get(statkeys.PAGES_NOT_HTML, 0),
        pages_left=raw.get(statkeys.PAGES_LEFT, 0),
        links_too_deep=raw.get(statkeys.LINKS_TOO_DEEP, 0),
        requests_left=queued,
        sitemaps=raw.get(statkeys.SITEMAPS, 0),
        sitemap_pages=raw.get(statkeys.SITEMAP_PAGES, 0),
        malformed_urls=raw.get(statkeys.MALFORMED_URLS, 0),
        images_found=raw.get(statkeys.IMAGES_FOUND, 0),
        images_known=raw.get(statkeys.IMAGES_KNOWN, 0),
        images_offsite=raw.get(statkeys.IMAGES_OFFSITE, 0),
        images_offsite_hosts=prefixed(statkeys.IMAGES_OFFSITE_HOST),
        images_downloaded=raw.get(statkeys.IMAGES_DOWNLOADED, 0),
        images_not_written=raw.get(statkeys.IMAGES_NOT_WRITTEN, 0),
        stored=raw.get(statkeys.STORED, 0),
        duplicates=raw.get(statkeys.DUPLICATES, 0),
        rejected=prefixed(statkeys.REJECTED),
        failed_images=prefixed(f"{statkeys.FAILED}images/"),
        failed_pages=prefixed(f"{statkeys.FAILED}pages/"),
        failed_sitemaps=prefixed(f"{statkeys.FAILED}sitemaps/"),
        bytes_downloaded=raw.get(statkeys.BYTES_DOWNLOADED, 0),
        bytes_stored=raw.get(statkeys.BYTES_STORED, 0),
        domains=domains_stats,
        robots=prefixed(statkeys.ROBOTS),
        crawl_delay=prefixed(statkeys.CRAWL_DELAY),
        requests_per_s=round(responses / duration, 3) if duration > 0 else 0.0,
        http_status=prefixed("downloader/response_status_count/"),
        conditional_304=raw.get("httpcache/revalidate", 0),
        retries=raw.get("retry/count", 0),
        robots_forbidden=raw.get("robotstxt/forbidden", 0),
        offsite_filtered=raw.get("offsite/filtered", 0),
        job_bad_entries=raw.get(statkeys.JOB_BAD_ENTRIES, 0),
        storage_error=raw.get(statkeys.STORAGE_ERROR, ""),
        scrapy={k: v for k, v in raw.items() if not k.startswith(statkeys.PREFIX)},
    )


def end_line(stats: CrawlStats, max_pages: int, max_images: int, depth: int) -> str:
    """One line: why the crawl stopped and, if a limit stopped it, what to raise; then the
    images skipped on hosts not allowed, and how to allow them."""
    return _why_stopped(stats, max_pages, max_images, depth) + _offsite_note(stats)


def _why_stopped(stats: CrawlStats, max_pages: int, max_images: int, depth: int) -> str:
    failure = crawl_failure(stats)
    if failure:
        return f"failed: {failure[0]}"
    reason = stats.finish_reason
    if reason == "max_images":
        return (f"stopped at max_images={max_images}; {stats.requests_left} requests left in the queue "
                f"— raise [crawl] max_images (or --max-images)")
    if reason != "finished":
        return f"stopped: {reason}; run `studio crawl` again to resume"
    if stats.pages_left:
        return (f"stopped at max_pages={max_pages}; {stats.pages_left} pages left "
                f"— raise [crawl] max_pages (or --max-pages)")
    if stats.links_too_deep:
        return (f"finished: nothing left within depth={depth}; {stats.links_too_deep} links deeper "
                f"were not followed — raise [crawl] depth (or --depth) to follow them")
    return "finished: every page reachable within the allowed hosts was crawled"


MAX_HOSTS_NAMED = 3


def _offsite_note(stats: CrawlStats) -> str:
    """`; 12 images skipped on other hosts (cdn.example.org 10, …) — allow them with …`."""
    skipped = stats.images_offsite
    if not skipped:
        return ""
    hosts = sorted(stats.images_offsite_hosts.items(), key=lambda kv: (-kv[1], kv[0]))
    named = ", ".join(f"{host} {n}" for host, n in hosts[:MAX_HOSTS_NAMED])
    if len(hosts) > MAX_HOSTS_NAMED:
        named += f", {len(hosts) - MAX_HOSTS_NAMED} more hosts"
    first = hosts[0][0] if hosts else "HOST"
    images = "image" if skipped == 1 else "images"
    return (f"; {skipped} {images} skipped on other hosts ({named or 'hosts not recorded'}) — allow them "
            f"with --image-domain {first} or [crawl] image_domains = [\"{first}\"]")


# What a failed start page's reason (spiders.images.failure_reason) means, in words.
FAILURE_WORDS = {
    # Scrapy 2.19's download errors, and Twisted's names that older versions and handlers raise.
    "CannotResolveHostError": "DNS lookup failed for {host}",
    "DNSLookupError": "DNS lookup failed for {host}",
    "DownloadConnectionRefusedError": "connection refused by {host}",
    "ConnectionRefusedError": "connection refused by {host}",
    "ConnectError": "cannot connect to {host}",
    "NoRouteError": "no route to {host}",
    "DownloadFailedError": "the download from {host} failed",
    "ResponseDataLossError": "{host} closed the connection mid-answer",
    "ResponseNeverReceived": "{host} closed the connection without answering",
    "timeout": "timed out",
    "DownloadTimeoutError": "timed out",
    "TCPTimedOutError": "timed out",
    "TimeoutError": "timed out",
    "offsite": "redirected to a host that is not allowed (add it with --allow-domain)",
    "too_large": "larger than [crawl] max_bytes",
}


SITE_HINT = "check the URL and that the site is up"
# robots.txt was read and its rules said no: the site is up, and asks crawlers to stay out.
ROBOTS_HINT = ("the site's robots.txt asks crawlers to stay out and GAN Studio obeys it: crawl pages "
               "it allows (or, only with the site owner's permission, set [crawl] obey_robots = false)")


def crawl_failure(stats: CrawlStats) -> tuple[str, str] | None:
    """(what failed, what to do), in words, when the crawl fetched nothing because every start
    page failed or robots.txt refused everything it asked for; None otherwise. `studio crawl`
    prints both as its one-line error (exit 2); the end line in stats.json says the first."""
    failure = start_failure(stats)
    if failure:
        starts = stats.start_urls or list(stats.start_pages)
        ruled = all(stats.start_pages.get(url) == "robots" and _robots_rule(url, stats.robots)
                    for url in starts)
        return failure, ROBOTS_HINT if ruled else SITE_HINT
    failure = robots_failure(stats)
    if failure:
        ruled = all(_robots_rule(f"http://{host}/", stats.robots) for host in stats.robots)
        return failure, ROBOTS_HINT if ruled else SITE_HINT
    return None


def robots_failure(stats: CrawlStats) -> str | None:
    """What failed when robots.txt refused every request the crawl made and nothing was fetched
    (a resumed crawl, which does not ask for its start pages again, on a site that now says
    `Disallow: /`); None otherwise. Sitemaps do not count: a site without one is normal."""
    fetched = stats.pages or stats.pages_not_html or stats.images_downloaded
    refused = stats.failed_pages.get("robots", 0) + stats.failed_images.get("robots", 0)
    if fetched or not refused or set(stats.failed_pages) | set(stats.failed_images) != {"robots"}:
        return None
    hosts = ", ".join(f"{host} ({_failure_words(f'http://{host}/', 'robots', stats.robots)})"
                      for host in sorted(stats.robots)) or "every host"
    things = "page or image" if refused == 1 else "pages and images"
    return f"robots.txt forbade everything this crawl asked for ({refused} {things}): {hosts}"


def _robots_rule(url: str, robots: dict[str, str]) -> bool:
    """Whether robots.txt of `url`'s host was read and its rules apply (not a fixed verdict
    for a robots.txt that could not be read)."""
    return robots.get(urlsplit(url).hostname or url, "ok") == "ok"


def start_failure(stats: CrawlStats) -> str | None:
    """What failed, in one line, when every start page failed and no page at all was crawled
    (a dead or mistyped site); None otherwise (a resumed crawl's start pages are not asked again)."""
    outcomes = stats.start_pages
    starts = stats.start_urls or list(outcomes)
    if not starts or stats.pages or stats.pages_not_html:
        return None
    if any(outcomes.get(url) in (None, "ok") for url in starts):
        return None
    robots = stats.robots
    parts = [f"{url} ({_failure_words(url, outcomes[url], robots)})" for url in starts]
    return "no start page could be fetched: " + ", ".join(parts)


def _failure_words(url: str, reason: str, robots: dict[str, str]) -> str:
    host = urlsplit(url).hostname or url
    if reason.startswith("http_"):
        return f"HTTP {reason.removeprefix('http_')}"
    if reason == "robots":
        # crawler.robots records per host why robots.txt said no: a real rule, or robots.txt
        # itself unreachable (RFC 9309: then the whole host is off limits), which is the real cause.
        verdict = robots.get(host, "ok")
        cause = verdict.removeprefix("disallow_all_")
        if verdict == "ok" or cause == verdict:
            return "disallowed by robots.txt"
        if cause.startswith("http_"):
            return f"robots.txt answered HTTP {cause.removeprefix('http_')}, so the host is off limits"
        return f"robots.txt unreachable: {_failure_words(url, cause, {})}"
    return FAILURE_WORDS.get(reason, reason).format(host=host)
