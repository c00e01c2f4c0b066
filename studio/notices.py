"""FiftyOne's notices that say nothing to a studio user, filtered from the log.

FiftyOne 1.22 warns that three App options it sets itself "have been removed", and that the
workspace's MongoDB (a standalone server, no replica set) has no change streams so the App polls:
true, harmless, and the first lines a user reads after `studio label`.
"""

from __future__ import annotations

import logging

NOISE = ("App config option has been removed", "Mongo change stream is not available")


class _Quiet(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not any(text in record.getMessage() for text in NOISE)


def quiet_fiftyone() -> None:
    """Drop those notices from every fiftyone logger (idempotent)."""
    logger = logging.getLogger("fiftyone")
    for handler in logger.handlers:
        if not any(isinstance(f, _Quiet) for f in handler.filters):
            handler.addFilter(_Quiet())
    for name in ("fiftyone.core.config", "fiftyone.operators.store.notification_service"):
        sub = logging.getLogger(name)
        if not any(isinstance(f, _Quiet) for f in sub.filters):
            sub.addFilter(_Quiet())
