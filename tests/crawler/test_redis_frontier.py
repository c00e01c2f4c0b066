"""Scale-out: two `studio crawl` workers share one frontier in a private redis-server.

Each worker has its own workspace (the crawl lock allows one crawl per workspace, as on two
machines); together they must store every image of the test site once, never request a URL
twice, and stay exactly as polite as a single crawl. `studio merge` then brings both into one
workspace, and a second shared crawl starts afresh instead of skipping everything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from urllib.parse import urlsplit

import pytest

from crawler.config import CrawlConfig
from crawler.settings import crawl_settings
from tests.crawler.conftest import REPO, latest_stats, make_workspace, read_manifest, studio_cmd
from tests.crawler.test_workspace_safety import check_raw_matches_manifest
from tests.fixtures.crawl_site import NEVER_REQUESTED, STORED, serve_crawl_site
from tests.helpers import free_port

pytestmark = [pytest.mark.server, pytest.mark.cli]

# Requests that legitimately repeat: each worker reads robots.txt and the sitemap itself (it needs
# the <lastmod>s), and the site answers these with 503 first (retries are requests of their own,
# dont_filter by design).
EXPECTED_REPEATS = {"/robots.txt": 2, "/sitemap.xml": 2, "/media/extra/flaky.jpg": 3, "/hostile.html": 2}
# The same site again later (one key scope per crawl): pages are asked again, nothing is skipped.
# The only settings a redis_url may change: where requests wait and how they are deduplicated.
FRONTIER_KEYS = {
    "SCHEDULER", "DUPEFILTER_CLASS", "SCHEDULER_PERSIST", "SCHEDULER_QUEUE_CLASS",
    "SCHEDULER_SERIALIZER", "REDIS_URL", "JOBDIR", "EXTENSIONS", "STUDIO_REDIS_IDLE_S",
    "SCHEDULER_QUEUE_KEY", "SCHEDULER_DUPEFILTER_KEY", "STUDIO_REDIS_PREFIX",
    "CONCURRENT_REQUESTS",  # lowered only: a worker holds no more than it can download now
}


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A private, non-persistent redis-server on 127.0.0.1 for this module."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (make system-deps)")
    import redis

    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None:
                    pytest.fail(f"redis-server exited with {proc.returncode}")
                time.sleep(0.05)
        else:
            pytest.fail("redis-server did not answer")
        yield url
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def shared_crawl(tmp_path_factory, redis_url):
    """Two workers started together on the same start URL, each with its own workspace."""
    import redis

    tmp = tmp_path_factory.mktemp("shared")
    # The site answers slowly so that the crawl outlasts the second worker's start-up.
    with serve_crawl_site(tmp, delay_s=0.5) as sites:
        workspaces = [
            make_workspace(tmp / f"ws{i}", redis_url=f'"{redis_url}"', redis_idle_s="3.0",
                           concurrency_per_domain="2")
            for i in (1, 2)
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        t0 = time.monotonic()
        procs = [
            subprocess.Popen(studio_cmd(ws, "--url", sites.main.url), cwd=REPO, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for ws in workspaces
        ]
        outputs = []
        for proc in procs:
            try:
                outputs.append(proc.communicate(timeout=180))
            except subprocess.TimeoutExpired:
                for p in procs:
                    p.kill()
                raise
        client = redis.Redis.from_url(redis_url)
        keys = {k.decode(): client.type(k).decode() for k in client.keys("*")}
        client.close()
        workers = [
            {"rc": p.returncode, "out": out, "err": err, "stats": latest_stats(ws),
             "manifest": read_manifest(ws), "ws": ws, "files": len(list((ws / "raw").glob("*/*.*")))}
            for p, (out, err), ws in zip(procs, outputs, workspaces, strict=True)
        ]
        seconds = time.monotonic() - t0
        first_requests = list(sites.main.requests)
        # A second shared crawl of the same site by the same two workers.
        sites.main.delay_s = 0.2
        procs = [subprocess.Popen(studio_cmd(ws, "--url", sites.main.url), cwd=REPO, env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for ws in workspaces]
        again = [(p.communicate(timeout=180), p.returncode) for p in procs]
        merged = make_workspace(tmp / "merged")
        merge = [subprocess.run([sys.executable, "-m", "studio", "merge", "-w", str(merged), str(ws1), str(ws2)],
                                cwd=REPO, capture_output=True, text=True, timeout=120) for ws1, ws2 in [workspaces] * 2]
        yield {
            "sites": sites,
            "seconds": seconds,
            "workers": workers,
            "first_requests": first_requests,
            "again": [{"rc": rc, "err": err, "stats": latest_stats(ws)}
                      for ((_, err), rc), ws in zip(again, workspaces, strict=True)],
            "again_requests": sites.main.requests[len(first_requests):],
            "redis_keys": keys,
            "redis_keys_after": {k.decode() for k in redis.Redis.from_url(redis_url).keys("*")},
            "merged": merged,
            "merge": merge,
        }


def test_both_workers_finish_cleanly(shared_crawl):
    for w in shared_crawl["workers"]:
        assert w["rc"] == 0, w["err"]
        assert w["stats"]["finish_reason"] == "finished"
        assert not (w["ws"] / "crawl" / "job" / "requests.queue").exists()  # no JOBDIR queue
    prefixes = {w["stats"]["frontier"]["prefix"] for w in shared_crawl["workers"]}
    assert len(prefixes) == 1 and next(iter(prefixes)).startswith("studio:")  # one scope for both
    prefix = next(iter(prefixes))
    # The drained queue is gone, and the last worker to leave dropped the seen set and the
    # worker registry: the next shared crawl of this site starts afresh.
    assert shared_crawl["redis_keys"] == {f"{prefix}:known": "set"}  # stored URLs, shared
    assert sorted(w["stats"]["frontier"]["fresh"] for w in shared_crawl["workers"]) == [False, True]


def test_both_workers_did_part_of_the_work(shared_crawl):
    fetched = [w["stats"]["pages"] + w["stats"]["images_downloaded"] for w in shared_crawl["workers"]]
    assert all(n > 0 for n in fetched), fetched


def test_together_every_image_stored_once(shared_crawl):
    lines = [m for w in shared_crawl["workers"] for m in w["manifest"]]
    urls = [m["url"] for m in lines]
    assert len(urls) == len(set(urls))  # no URL stored by both workers
    assert sorted(urlsplit(u).path for u in urls) == STORED
    for w in shared_crawl["workers"]:
        assert w["files"] == len({m["sha256"] for m in w["manifest"]})
        for m in w["manifest"]:
            assert (w["ws"] / m["path"]).is_file()
    stored = sum(w["stats"]["stored"] for w in shared_crawl["workers"])
    # dup-a/dup-b share bytes: one file if one worker got both, one in each workspace otherwise.
    assert stored in (len(STORED) - 1, len(STORED))


def test_no_url_requested_twice_across_workers(shared_crawl):
    sites = shared_crawl["sites"]
    counts = Counter(r.path for r in shared_crawl["first_requests"])
    repeated = {path: n for path, n in counts.items() if n > 1}
    assert repeated == EXPECTED_REPEATS
    assert [r.status for r in shared_crawl["first_requests"] if r.path == "/media/extra/flaky.jpg"] == [503, 503, 200]
    for path in NEVER_REQUESTED:
        assert path not in counts, path
    assert sites.offsite.requests == []


def test_workers_stay_polite(shared_crawl):
    agents = {r.headers.get("User-Agent") for r in shared_crawl["first_requests"]}
    assert agents == {CrawlConfig().user_agent}
    for w in shared_crawl["workers"]:
        assert w["stats"]["scrapy"].get("robotstxt/request_count") == 1  # each worker read robots.txt


def test_redis_changes_only_the_frontier_settings(tmp_path):
    dirs = (tmp_path / "raw", tmp_path / "crawl", tmp_path / "run")
    plain = crawl_settings(CrawlConfig(), *dirs)
    shared = crawl_settings(CrawlConfig(redis_url="redis://127.0.0.1:6379/0"), *dirs)
    changed = {k for k in plain.keys() | shared.keys() if plain.get(k) != shared.get(k)}
    assert changed <= FRONTIER_KEYS
    assert {k: v for k, v in shared["EXTENSIONS"].items() if k in plain["EXTENSIONS"]} == plain["EXTENSIONS"]
    polite = ("USER_AGENT", "ROBOTSTXT_OBEY", "AUTOTHROTTLE_ENABLED", "DOWNLOAD_DELAY",
              "CONCURRENT_REQUESTS_PER_DOMAIN", "DOWNLOAD_MAXSIZE", "TELNETCONSOLE_ENABLED")
    assert all(shared[k] == plain[k] for k in polite)
    assert shared["CONCURRENT_REQUESTS"] == plain["CONCURRENT_REQUESTS_PER_DOMAIN"] < plain["CONCURRENT_REQUESTS"]
    assert CrawlConfig().redis_url == ""  # off by default


def test_frontier_codec_round_trips_a_request_without_pickle():
    import scrapy
    from scrapy.utils.request import request_from_dict

    from crawler import redis_codec

    req = scrapy.Request("http://127.0.0.1/a.jpg", headers={"Accept": "image/png"}, body=b"\x00\xff",
                         meta={"page_url": "http://127.0.0.1/", "alt": "é", "redirect_urls": ["u"]}, priority=1)
    data = redis_codec.dumps(req.to_dict())
    assert not data.startswith(b"\x80")  # not a pickle
    back = request_from_dict(redis_codec.loads(data))
    assert (back.url, back.body, back.meta, back.priority) == (req.url, req.body, req.meta, 1)
    assert back.headers.getlist("Accept") == [b"image/png"]


def test_merge_brings_both_workers_into_one_workspace(shared_crawl):
    first, second = shared_crawl["merge"]
    assert first.returncode == 0, first.stderr
    merged = read_manifest(shared_crawl["merged"])
    assert sorted(urlsplit(m["url"]).path for m in merged) == STORED  # every URL once
    check_raw_matches_manifest(shared_crawl["merged"])  # each file once, hashes verified
    assert "0 bad lines" in first.stdout
    assert second.returncode == 0 and "0 manifest lines added" in second.stdout  # idempotent
    assert len(read_manifest(shared_crawl["merged"])) == len(merged)


def test_a_second_shared_crawl_is_not_skipped(shared_crawl):
    """The seen set of the first crawl is gone: pages are asked again (conditional requests)."""
    for w in shared_crawl["again"]:
        assert w["rc"] == 0, w["err"]
    assert any(w["stats"]["frontier"]["fresh"] for w in shared_crawl["again"])
    pages = {r.path for r in shared_crawl["again_requests"] if r.path.endswith(".html") or r.path == "/"}
    assert {"/", "/gallery/page-1.html", "/people.html"} <= pages
    assert sum(w["stats"]["pages"] for w in shared_crawl["again"]) >= 8
    # What either worker stored the first time is not fetched again by the other.
    assert sum(w["stats"]["images_downloaded"] for w in shared_crawl["again"]) == 0
    assert {k.rsplit(":", 1)[1] for k in shared_crawl["redis_keys_after"]} == {"known"}


def test_an_entry_that_is_not_our_request_is_dropped_not_fatal(redis_url):
    """Anyone who can write to the Redis server can push to the queue: a pickle, a `_class`,
    a foreign callback are dropped and counted; the real request behind them still comes out."""
    import redis
    import scrapy
    from scrapy.utils.test import get_crawler

    from crawler import redis_codec
    from crawler.redis_queue import SafeFifoQueue

    crawler = get_crawler(scrapy.Spider)
    spider = scrapy.Spider.from_crawler(crawler, name="hostile")
    client = redis.Redis.from_url(redis_url)
    queue = SafeFifoQueue(client, spider, "test:%(spider)s:requests", serializer=redis_codec)
    queue.clear()
    good = scrapy.Request("http://127.0.0.1/ok.jpg")
    hostile = [b"\x80\x04\x95 a pickle", b'{"url": "http://x/", "_class": "os.system"}',
               b'{"url": "http://x/", "callback": "__import__"}', b"[1, 2]"]
    for entry in hostile:  # FifoQueue pushes on the left and pops on the right
        client.lpush(queue.key, entry)
    queue.push(good)
    popped = [queue.pop() for _ in range(len(hostile) + 1)]
    assert popped[:-1] == [None] * len(hostile)
    assert popped[-1].url == good.url and len(queue) == 0
    assert crawler.stats.get_value("frontier/rejected") == len(hostile)
