"""`raw/manifest.jsonl`, the crawl's list of stored images (one line per image URL), and its one
reader: written by `crawler.store.RawStore` (and `crawler.merge`), read here by everyone else —
the curation, the app and `studio status`. Stdlib and records only, so readers need no Scrapy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from records import iter_jsonl

MANIFEST = "manifest.jsonl"  # inside raw/
MANIFEST_FIELDS = (
    "url", "page_url", "sha256", "path", "width", "height", "bytes", "content_type", "fetched_at", "alt",
)
REQUIRED = ("sha256", "path")  # a line without them names no stored file


def read_manifest(path: Path) -> Iterator[dict]:
    """Valid manifest lines, in order; torn or incomplete lines (a killed crawler) are skipped."""
    for obj in iter_jsonl(path):
        if all(isinstance(obj.get(k), str) for k in REQUIRED):
            yield obj


def sources_by_sha(path: Path) -> dict[str, dict]:
    """One entry per stored image (identical bytes from several URLs: the first URL wins)."""
    out: dict[str, dict] = {}
    for m in read_manifest(path):
        out.setdefault(m["sha256"], m)
    return out


def known_urls(path: Path) -> set[str]:
    """Every image URL the manifest lists (stored, so never downloaded again)."""
    return {m["url"] for m in iter_jsonl(path) if "url" in m}
