"""The `[crawl]` section of studio.toml: politeness and limits of a crawl (stdlib only)."""

from __future__ import annotations

from dataclasses import dataclass, field

PROJECT_URL = "https://github.com/gan-studio/gan-studio"


@dataclass
class CrawlConfig:
    max_pages: int = 1000  # pages fetched per crawl (0 = no limit): the real bound of a crawl
    max_images: int = 10000  # images stored per crawl (0 = no limit)
    depth: int = 3  # link depth from the start pages; pagination and sitemap pages do not add to it
    # Hosts images may come from besides the page hosts (CDNs); "*" = any host. Pages never.
    image_domains: list[str] = field(default_factory=list)
    sitemaps: bool = True  # read /sitemap.xml and robots.txt `Sitemap:` lines of the page hosts
    user_agent: str = f"GANStudio/0.1 (+{PROJECT_URL})"  # identifies the crawler to site owners
    obey_robots: bool = True  # robots.txt is obeyed for pages and images
    autothrottle: bool = True  # above download_delay, follow the server's latency (crawler.pace)
    download_delay: float = 1.0  # seconds between requests to one host; robots.txt Crawl-delay can raise it
    concurrency_per_domain: int = 2  # parallel requests to one domain
    min_side: int = 64  # images whose short side is smaller are rejected
    max_bytes: int = 20_000_000  # larger downloads are aborted
    timeout_s: float = 30.0  # a download taking longer is retried, then given up
    retries: int = 2  # extra tries after a transient error (5xx, 429, timeout, reset)
    redis_url: str = ""  # share the crawl frontier through scrapy-redis when set
    redis_idle_s: float = 10.0  # with redis_url: a worker stops after this long with nothing to do

    def validate(self) -> None:
        for name in ("max_pages", "max_images", "depth", "min_side", "retries"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.concurrency_per_domain < 1:
            raise ValueError("concurrency_per_domain must be >= 1")
        if self.download_delay < 0:
            raise ValueError("download_delay must be >= 0")
        if self.max_bytes < 1024:
            raise ValueError("max_bytes must be >= 1024")
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        if self.redis_idle_s < 0:
            raise ValueError("redis_idle_s must be >= 0")
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("redis_url must start with redis://, rediss:// or unix://")
