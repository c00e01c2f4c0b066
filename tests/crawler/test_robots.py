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
