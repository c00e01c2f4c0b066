"""robots.txt holds for requests that wait while it downloads (Scrapy 2.19 let them through).

Run in a child interpreter: it needs its own Twisted reactor (asyncio), started once.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    from twisted.internet import asyncioreactor
    asyncioreactor.install()
    from twisted.internet import defer, reactor
    from scrapy.exceptions import IgnoreRequest
    from scrapy.http import Request, TextResponse
    from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
    from scrapy.utils.test import get_crawler
    from {module} import {cls} as Middleware

    crawler = get_crawler(settings_dict={{"ROBOTSTXT_OBEY": True, "USER_AGENT": "studio-test"}})
    robots = defer.Deferred()

    class Engine:  # the robots.txt download, answered only once every request waits for it
        async def download_async(self, request):
            return await maybe_deferred_to_future(robots)

    crawler.engine = Engine()
    mw = Middleware(crawler)
    results = []

    async def fetch(i):
        try:
            await mw.process_request(Request(f"http://site.test/private/{{i}}.jpg"))
            results.append("allowed")
        except IgnoreRequest:
            results.append("forbidden")

    for i in range(5):
        deferred_from_coro(fetch(i))
    body = b"User-agent: *\\nDisallow: /private/\\n"
    reactor.callLater(0.05, robots.callback, TextResponse("http://site.test/robots.txt", body=body))
    reactor.callLater(0.5, reactor.stop)
    reactor.run()
    print(" ".join(results))
    """
)


def decisions(module: str, cls: str) -> list[str]:
    code = SCRIPT.format(module=module, cls=cls)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout.split()


def test_every_request_waiting_for_robots_txt_is_checked():
    assert decisions("crawler.robots", "StrictRobotsTxtMiddleware") == ["forbidden"] * 5


def test_the_stock_middleware_still_needs_the_fix():
    """When this fails, Scrapy fixed its middleware: drop crawler/robots.py and this file."""
    got = decisions("scrapy.downloadermiddlewares.robotstxt", "RobotsTxtMiddleware")
    assert "allowed" in got, got  # some waiters are let through


# --- robots.txt that cannot be read: RFC 9309 through the real engine ------------------------

import time  # noqa: E402

import pytest  # noqa: E402

from studio.demo.server import Route, serve  # noqa: E402
from tests.crawler.conftest import make_workspace, run_crawl  # noqa: E402
from tests.crawler.minisite import build_mini_site  # noqa: E402


@pytest.mark.parametrize(("status", "allowed"), [(503, False), (429, False), (404, True)])
def test_unreadable_robots_txt_disallows_the_host(tmp_path, status, allowed):
    """5xx/429: disallow all for that host (Scrapy parsed the error page: crawl everything); 4xx: no rules."""
    root = build_mini_site(tmp_path / "site")
    ws = make_workspace(tmp_path / "ws", retries="1")
    with serve(root, routes={"/robots.txt": Route(status=status, body=b"<html>oops</html>")}) as site:
        run = run_crawl(ws, "--url", site.url)
    # Disallowed, the start page cannot be fetched: an error that says why (stats.json stays).
    assert run.returncode == (0 if allowed else 2), run.stderr
    asked = {r.path for r in site.requests}
    if allowed:
        assert {"/", "/img/0.jpg", "/two.html"} <= asked and run.stats["stored"] == 3
        assert run.stats["robots"] == {"127.0.0.1": f"allow_all_http_{status}"}
    else:
        assert asked == {"/robots.txt"}, asked
        assert run.stats["robots"] == {"127.0.0.1": f"disallow_all_http_{status}"}
        assert run.stats["robots_forbidden"] >= 1 and run.stats["stored"] == 0
        assert f"robots.txt answered HTTP {status}, so the host is off limits" in run.stderr


def test_robots_txt_timeout_disallows_the_host(tmp_path):
    root = build_mini_site(tmp_path / "site")
    ws = make_workspace(tmp_path / "ws", timeout_s="1.0", retries="0")
    with serve(root, delay_s=2.5) as site:  # every answer slower than the crawl waits
        run = run_crawl(ws, "--url", site.url)
        time.sleep(3)  # the server logs a request when it answers it
    assert run.returncode == 2 and "robots.txt unreachable: timed out" in run.stderr, run.stderr
    assert {r.path for r in site.requests} == {"/robots.txt"}
    assert run.stats["robots"]["127.0.0.1"].startswith("disallow_all_")


def test_crawl_delay_is_honoured(tmp_path):
    """`Crawl-delay: 1` with download_delay 0: about one request a second to that host."""
    root = build_mini_site(tmp_path / "site", robots="User-agent: *\nCrawl-delay: 1\n")
    ws = make_workspace(tmp_path / "ws")  # download_delay = 0 (tests' fast settings)
    with serve(root) as site:
        run = run_crawl(ws, "--url", site.url)
    assert run.returncode == 0, run.stderr
    assert run.stats["crawl_delay"] == {"127.0.0.1": 1.0}
    logged = [r for r in site.requests if r.path != "/robots.txt"]
    assert len(logged) >= 5  # /, /sitemap.xml, two.html, 3 images
    # 6+ requests after robots.txt: at least ~0.9 s apart (the server logs when it answers).
    assert run.stats["duration_s"] >= 0.9 * (len(logged) - 1)
