"""robots.txt for every request, including those that arrive while robots.txt is downloading.

Scrapy 2.19's RobotsTxtMiddleware parks concurrent requests on one Deferred; after the first
waiter, the others are resumed with None ("no parser": allow everything). A resumed crawl, whose
JOBDIR queue releases many requests at once, then fetches disallowed URLs. The parser itself is
stored in `_parsers` by then, so each waiter reads it from there.
"""

from __future__ import annotations

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.http import Request
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred


class StrictRobotsTxtMiddleware(RobotsTxtMiddleware):
    async def robot_parser(self, request: Request):
        parser = await super().robot_parser(request)
        if parser is None:  # maybe the lost result of a shared Deferred: take the stored parser
            stored = self._parsers.get(urlparse_cached(request).netloc)
            if not isinstance(stored, Deferred):
                parser = stored  # None still means robots.txt failed: Scrapy's allow-all stands
        return parser
