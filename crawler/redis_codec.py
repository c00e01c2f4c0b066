"""JSON codec for stored requests: the Redis frontier (scrapy-redis `SCHEDULER_SERIALIZER`)
and the job dir's disk queues (`crawler.jsonqueue`).

scrapy-redis and Scrapy's JOBDIR pickle requests by default, so anyone who can write to the
Redis server or hand over a workspace could run code in the crawler; we store
`Request.to_dict()` as JSON instead (bytes tagged, base64). `loads` also refuses a `_class`
(Scrapy would import and call any dotted name) and callbacks other than the spider's own.
"""

from __future__ import annotations

import base64
import json
from typing import Any

_BYTES = "__b64__"
# The spider methods a stored request may name (crawler.spiders.images.ImageSpider).
CALLBACKS = {None, "parse", "parse_image", "parse_sitemap", "parse_stylesheet", "page_failed", "image_failed",
             "sitemap_failed", "stylesheet_failed"}


def _default(obj: Any) -> Any:
    if isinstance(obj, bytes):
        return {_BYTES: base64.b64encode(obj).decode("ascii")}
    if isinstance(obj, (tuple, set, frozenset)):
        return list(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in the shared frontier")


def _hook(obj: dict) -> Any:
    return base64.b64decode(obj[_BYTES]) if len(obj) == 1 and _BYTES in obj else obj


def _bytes_keys(obj: Any) -> Any:
    """JSON keys must be strings: header names (bytes) are tagged as values of a pair list."""
    if isinstance(obj, dict) and any(isinstance(k, bytes) for k in obj):
        return {"__pairs__": [[k, _bytes_keys(v)] for k, v in obj.items()]}
    if isinstance(obj, dict):
        return {k: _bytes_keys(v) for k, v in obj.items()}
    return obj


def _unpairs(obj: Any) -> Any:
    if isinstance(obj, dict) and set(obj) == {"__pairs__"}:
        return {k: _unpairs(v) for k, v in obj["__pairs__"]}
    if isinstance(obj, dict):
        return {k: _unpairs(v) for k, v in obj.items()}
    return obj


def dumps(obj: dict) -> bytes:
    return json.dumps(_bytes_keys(obj), default=_default, separators=(",", ":")).encode()


def loads(data: bytes) -> dict:
    """The request dict; ValueError if it is not JSON or not a request of ours."""
    obj = _unpairs(json.loads(data, object_hook=_hook))
    if not isinstance(obj, dict) or not isinstance(obj.get("url"), str):
        raise ValueError("not a stored request")
    if "_class" in obj:
        raise ValueError(f"stored request names a class: {str(obj['_class'])[:100]!r}")
    for key in ("callback", "errback"):
        if obj.get(key) not in CALLBACKS:
            raise ValueError(f"stored request names an unknown {key}: {str(obj[key])[:100]!r}")
    return obj
