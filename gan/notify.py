"""`--notify URL`: POST a small JSON message when a run ends, fails or rolls back (stdlib only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any


def notify(url: str, payload: dict[str, Any], log: Callable[[str], None] = print, timeout: float = 10) -> bool:
    """Send `payload`; a dead webhook is logged in one line and never stops training."""
    if not url:
        return False
    req = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return 200 <= resp.status < 300
    except (urllib.error.URLError, OSError, ValueError) as exc:
        log(f"notify {url} failed: {exc}")
        return False
