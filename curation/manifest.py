"""Reading the crawler's raw/manifest.jsonl (one line per image URL; see docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from records import iter_jsonl

REQUIRED = ("sha256", "path")


def read_manifest(path: Path) -> Iterator[dict]:
    """Valid manifest lines; torn or incomplete lines (a killed crawler) are skipped."""
    for obj in iter_jsonl(path):
        if all(isinstance(obj.get(k), str) for k in REQUIRED):
            yield obj


def sources_by_sha(path: Path) -> dict[str, dict]:
    """One entry per stored image (identical bytes from several URLs: the first URL wins)."""
    out: dict[str, dict] = {}
    for m in read_manifest(path):
        out.setdefault(m["sha256"], m)
    return out
