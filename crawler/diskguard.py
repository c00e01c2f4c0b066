"""Stop the crawl at the first failed write to the workspace (disk full, read-only, permissions).

Whoever fails to write (pipeline, disk queue, HTTP cache, state) calls `storage_failed`: the
path and the error are recorded in the stats and the spider closes with reason
`storage_error`; `crawler.run` turns that into one line on stderr and exit status 2.
"""

from __future__ import annotations

from scrapy.utils.defer import deferred_from_coro

from crawler.stats import STORAGE_ERROR
from crawler.store import StorageFailed


def storage_failed(crawler, error: StorageFailed) -> None:
    """Record the first storage failure and close the spider (later ones add nothing)."""
    if crawler.stats.get_value(STORAGE_ERROR):
        return
    crawler.stats.set_value(STORAGE_ERROR, str(error))
    engine = getattr(crawler, "engine", None)
    if engine is not None and engine.spider is not None:
        deferred_from_coro(engine.close_spider_async(reason="storage_error"))
