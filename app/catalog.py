"""The pages' access to the FiftyOne catalog (curation's public API), one cached handle."""

from __future__ import annotations

from typing import Any

from studio.workspace import Workspace


def funnel(ws: Workspace) -> dict[str, Any] | None:
    """Crawled → detected → cropped → unique → accepted, overall and per source domain."""
    return None
