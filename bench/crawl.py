"""Crawl benchmark: our pipeline vs. a stock Scrapy ImagesPipeline spider on the same local site.

Builds a site of large JPEGs on 127.0.0.1, then crawls it twice in child processes with
politeness switched off (no delay, no AutoThrottle, no robots.txt, 16 concurrent requests):
once with `studio crawl`, once with a minimal spider using `scrapy.pipelines.images.ImagesPipeline`.
Prints images/s and pages/s of both and the ratio.

`--polite` adds the polite-defaults row: a `studio crawl` with the default [crawl] settings
(robots.txt, download_delay = 1.0, AutoThrottle, 2 per host) of a chain of pages on 127.0.0.1
whose images are on 127.0.0.2, timed from the servers' own request logs: requests/s achieved
per host against the configured rate (1 / download_delay), both hosts at once; beside it the
same site crawled by a stock Scrapy spider with AutoThrottle and the same delay.

    .venv/bin/python bench/crawl.py [--images 240] [--per-page 20] [--side 1600] [--polite [--polite-pages 30]]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crawler.report import list_crawls  # noqa: E402
from studio.demo.server import serve  # noqa: E402

STOCK_SPIDER = '''
import json, sys, time
import scrapy
from scrapy.crawler import CrawlerProcess

class StockSpider(scrapy.Spider):
    name = "stock"
    start_urls = [sys.argv[1]]

    def parse(self, response):
        yield {"image_urls": [response.urljoin(u) for u in response.css("img::attr(src)").getall()]}
        for href in response.css("a::attr(href)").getall():
            yield response.follow(href, self.parse)

settings = json.loads(sys.argv[3])
settings.update({"ITEM_PIPELINES": {"scrapy.pipelines.images.ImagesPipeline": 1}, "IMAGES_STORE": sys.argv[2],
                 "IMAGES_MIN_WIDTH": 64, "IMAGES_MIN_HEIGHT": 64})
process = CrawlerProcess(settings)
crawler = process.create_crawler(StockSpider)
process.crawl(crawler)
process.start()
s = crawler.stats.get_stats()
print(json.dumps({"elapsed": s["elapsed_time_seconds"], "images": s.get("file_status_count/downloaded", 0),
                  "pages": s.get("response_received_count", 0) - s.get("file_count", 0)}))
'''

UNPOLITE = {
    "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "ROBOTSTXT_OBEY": False,
    "CONCURRENT_REQUESTS": 16, "CONCURRENT_REQUESTS_PER_DOMAIN": 16, "LOG_LEVEL": "WARNING",
    "TELNETCONSOLE_ENABLED": False, "REMOTE_CONTROL_ENABLED": False,
}


def build_site(root: Path, n_images: int, per_page: int, side: int) -> Path:
    """`n_images` distinct large JPEGs on pages of `per_page`, linked in a chain."""
    import numpy as np
    from PIL import Image
    from skimage import data

    bases = [data.astronaut(), data.coffee(), data.chelsea()]
    rng = np.random.default_rng(0)
    (root / "img").mkdir(parents=True)
    for i in range(n_images):
        base = Image.fromarray(bases[i % len(bases)]).resize((side, side * 3 // 4), Image.BILINEAR)
        arr = np.asarray(base).astype(np.int16) + rng.integers(-8, 8, (side * 3 // 4, side, 3))
        Image.fromarray(arr.clip(0, 255).astype("uint8")).save(root / "img" / f"{i}.jpg", quality=90)
    pages = (n_images + per_page - 1) // per_page
    for p in range(pages):
        imgs = "".join(f'<img src="/img/{i}.jpg">' for i in range(p * per_page, min(n_images, (p + 1) * per_page)))
        nxt = f'<a href="/page-{p + 1}.html">next</a>' if p + 1 < pages else ""
        (root / f"page-{p}.html").write_text(f"<html><body>{imgs}{nxt}</body></html>")
    return root


def run_ours(url: str, tmp: Path, depth: int) -> dict:
    ws = tmp / "ws"
    subprocess.run([sys.executable, "-m", "studio", "init", "-w", str(ws)], cwd=REPO, check=True, capture_output=True)
    toml = ws / "studio.toml"
    text = toml.read_text()
    for old, new in [("obey_robots = true", "obey_robots = false"), ("autothrottle = true", "autothrottle = false"),
                     ("download_delay = 1.0", "download_delay = 0.0"),
                     ("concurrency_per_domain = 2", "concurrency_per_domain = 16")]:
        assert old in text, old
        text = text.replace(old, new)
    toml.write_text(text)
    subprocess.run([sys.executable, "-m", "studio", "crawl", "-w", str(ws), "--url", url, "--depth", str(depth),
                    "--max-pages", "0", "--max-images", "0"], cwd=REPO, check=True, capture_output=True)
    stats = list_crawls(ws / "crawl")[0].stats
    elapsed = stats.scrapy["elapsed_time_seconds"]
    return {"elapsed": elapsed, "images": stats.stored, "pages": stats.pages}


def run_stock(url: str, tmp: Path) -> dict:
    script = tmp / "stock_spider.py"  # a file: Scrapy inspects the callbacks' source
    script.write_text(STOCK_SPIDER)
    out = subprocess.run([sys.executable, str(script), url, str(tmp / "stock"), json.dumps(UNPOLITE)],
                         cwd=REPO, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


POLITE_STOCK = {
    "DOWNLOAD_DELAY": 1.0, "AUTOTHROTTLE_ENABLED": True, "AUTOTHROTTLE_START_DELAY": 1.0,
    "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0, "ROBOTSTXT_OBEY": True, "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
    "LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False, "REMOTE_CONTROL_ENABLED": False,
}


def build_polite_site(root: Path, cdn_root: Path, cdn_url: str, pages: int) -> None:
    """`pages` pages linked by "next", one 400x300 JPEG each, served by the CDN host."""
    from PIL import Image

    root.mkdir(parents=True)
    (cdn_root / "img").mkdir(parents=True)
    for p in range(pages):
        Image.new("RGB", (400, 300), (p * 7 % 255, 80, 160)).save(cdn_root / "img" / f"{p}.jpg", quality=80)
        nxt = f'<a rel="next" href="/page-{p + 1}.html">next</a>' if p + 1 < pages else ""
        (root / f"page-{p}.html").write_text(f'<html><body><img src="{cdn_url}img/{p}.jpg">{nxt}</body></html>')


def _timed(site) -> list[float]:
    """Record when the server answers each request (the site logs no times itself)."""
    times: list[float] = []
    log = site._log

    def timed_log(req):
        times.append(time.monotonic())
        log(req)

    site._log = timed_log
    return times


def host_rate(times: list[float]) -> float:
    """Requests per second between the second request (after robots.txt) and the last."""
    return (len(times) - 2) / (times[-1] - times[1]) if len(times) > 2 else 0.0


def run_polite(tmp: Path, pages: int) -> list[dict]:
    rows = []
    for name in ("studio crawl", "stock AutoThrottle"):
        base = tmp / name.replace(" ", "-")
        (base / "cdn").mkdir(parents=True)
        with serve(base / "cdn", host="127.0.0.2") as cdn:
            build_polite_site(base / "site", base / "cdn", cdn.url, pages)
            with serve(base / "site") as site:
                t_main, t_cdn = _timed(site), _timed(cdn)
                url = f"{site.url}page-0.html"
                t0 = time.monotonic()
                if name == "studio crawl":
                    ws = base / "ws"
                    # BENCH_STUDIO_REPO: another checkout (e.g. an older commit) to measure the same way.
                    repo = Path(os.environ.get("BENCH_STUDIO_REPO", REPO))
                    env = {**os.environ, "PYTHONPATH": str(repo)}
                    subprocess.run([sys.executable, "-m", "studio", "init", "-w", str(ws)], cwd=repo, check=True,
                                   capture_output=True, env=env)
                    # An older studio has no --image-domain, and its depth counted every "next" page.
                    flags = ["--image-domain", "127.0.0.2"] if repo == REPO else [
                        "--allow-domain", "127.0.0.2", "--depth", str(pages + 1)]
                    subprocess.run([sys.executable, "-m", "studio", "crawl", "-w", str(ws), "--url", url, *flags],
                                   cwd=repo, check=True, capture_output=True, env=env)
                else:
                    script = base / "stock_spider.py"
                    script.write_text(STOCK_SPIDER)
                    subprocess.run([sys.executable, str(script), url, str(base / "stock"), json.dumps(POLITE_STOCK)],
                                   cwd=REPO, check=True, capture_output=True)
                wall = time.monotonic() - t0
        both = sorted(t_main + t_cdn)
        rows.append({"name": name, "pages": host_rate(t_main), "images": host_rate(t_cdn), "wall": wall,
                     "requests": len(both), "both": (len(both) - 1) / (both[-1] - both[0])})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=240)
    ap.add_argument("--per-page", type=int, default=20)
    ap.add_argument("--side", type=int, default=1600, help="image width in pixels")
    ap.add_argument("--polite", action="store_true", help="also measure the polite defaults (slow: ~1 req/s)")
    ap.add_argument("--polite-pages", type=int, default=30)
    ap.add_argument("--polite-only", action="store_true", help="only the polite-defaults rows")
    args = ap.parse_args()
    if args.polite or args.polite_only:
        with tempfile.TemporaryDirectory() as d:
            for r in run_polite(Path(d), args.polite_pages):
                print(f"polite {r['name']:20s} configured 1.00 req/s per host: pages host {r['pages']:.2f} req/s, "
                      f"image host {r['images']:.2f} req/s, both hosts {r['both']:.2f} req/s "
                      f"({r['requests']} requests; {r['wall']:.1f}s with process start-up)")
        if args.polite_only:
            return
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        t = time.perf_counter()
        root = build_site(tmp / "site", args.images, args.per_page, args.side)
        pages = (args.images + args.per_page - 1) // args.per_page
        print(f"site: {args.images} JPEGs of {args.side}px on {pages} pages "
              f"({sum(f.stat().st_size for f in root.rglob('*')) / 1e6:.0f} MB, built in {time.perf_counter() - t:.0f}s)")
        with serve(root) as site:
            url = f"{site.url}page-0.html"
            stock = run_stock(url, tmp)
            ours = run_ours(url, tmp, depth=pages)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    for name, r in (("stock ImagesPipeline", stock), ("studio crawl", ours)):
        print(f"{name:22s} {r['images']:4d} images in {r['elapsed']:6.2f}s: "
              f"{r['images'] / r['elapsed']:6.1f} images/s, {r['pages'] / r['elapsed']:5.2f} pages/s")
    ratio = (ours["images"] / ours["elapsed"]) / (stock["images"] / stock["elapsed"])
    print(f"ratio (studio / stock, images/s): {ratio:.2f}x")


if __name__ == "__main__":
    main()
