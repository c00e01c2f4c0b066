"""JSON codec for requests in the shared Redis frontier (scrapy-redis `SCHEDULER_SERIALIZER`).

scrapy-redis pickles requests by default, so anyone who can write to the Redis server could run
code in every worker; we store `Request.to_dict()` as JSON instead (bytes tagged, base64).
"""

from __future__ import annotations

import base64
import json
from typing import Any

_BYTES = "__b64__"


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
    return _unpairs(json.loads(data, object_hook=_hook))
