"""robots.txt for every request, with RFC 9309's answer when robots.txt cannot be read.

Two fixes over Scrapy 2.19's RobotsTxtMiddleware:
- It parks concurrent requests on one Deferred; after the first waiter, the others are resumed
  with None ("no parser": allow everything). A resumed crawl, whose JOBDIR queue releases many
  requests at once, then fetched disallowed URLs. Each waiter now reads the stored parser.
- It parses whatever body came back: a 503 error page or a timeout meant "crawl everything".
  RFC 9309 §2.3.1: 4xx = no rules (allow all); 5xx, 429 or unreachable = disallow all for that
  host, for this crawl. What happened per host is counted under `studio/robots/`.
"""

from __future__ import annotations

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.robotstxt import RobotParser
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from crawler import stats as statkeys


class FixedVerdict(RobotParser):
    """A robots.txt answer that does not depend on the URL (allow all or disallow all)."""

    def __init__(self, allow: bool, why: str):
        self.allow = allow
        self.why = why

    @classmethod
    def from_crawler(cls, crawler, robotstxt_body):  # pragma: no cover (never built by Scrapy)
        return cls(True, "")

    def allowed(self, url, user_agent) -> bool:
        return self.allow

    def crawl_delay(self, user_agent) -> float | None:
        return None


class StrictRobotsTxtMiddleware(RobotsTxtMiddleware):
    async def robot_parser(self, request: Request):
        parser = await super().robot_parser(request)
        if parser is None:  # maybe the lost result of a shared Deferred: take the stored parser
            stored = self._parsers.get(urlparse_cached(request).netloc)
            if not isinstance(stored, Deferred):
                parser = stored
        if parser is None:  # cannot happen with the verdicts below; never read as "allow all"
            parser = FixedVerdict(False, "no parser")
        return parser

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        status = response.status
        if status < 400 and status not in (204,):
            self._count(netloc, "ok")
            return await super()._parse_robots(response, netloc, request)
        self._stats.inc_value("robotstxt/response_count")
        self._stats.inc_value(f"robotstxt/response_status_count/{status}")
        if status >= 500 or status == 429:
            self._settle(netloc, FixedVerdict(False, f"http_{status}"))
        else:  # 4xx (and an empty 204): the site has no rules
            self._settle(netloc, FixedVerdict(True, f"http_{status}"))

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        if not isinstance(exc, IgnoreRequest):
            self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
        reason = "ignored" if isinstance(exc, IgnoreRequest) else type(exc).__name__
        self._settle(netloc, FixedVerdict(False, reason))  # unreachable: disallow all

    def _settle(self, netloc: str, verdict: FixedVerdict) -> None:
        self._count(netloc, ("allow_all_" if verdict.allow else "disallow_all_") + verdict.why)
        waiting = self._parsers[netloc]
        self._parsers[netloc] = verdict
        if isinstance(waiting, Deferred):
            waiting.callback(verdict)

    def _count(self, netloc: str, outcome: str) -> None:
        host = netloc.rsplit(":", 1)[0] if not netloc.endswith("]") else netloc
        self._stats.set_value(statkeys.robots(host), outcome)
