"""Append-only JSONL records (one JSON object a line): the reader that survives a killed writer,
and the one appender (crawler.store.JsonlLog locks it for threads; gan keeps a twin)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path


def iter_jsonl(path: Path) -> Iterator[dict]:
    """Objects of a JSONL file; a torn last line (killed writer) is skipped."""
    if not path.exists():
        return
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                yield obj


def append_jsonl(path: Path, obj: object) -> None:
    """Append one JSON line (UTF-8): a single write() of a full line, flushed and fsynced. When
    the write fails (a full disk), the file is cut back to where it was, so no torn line stays,
    and the OSError is raised."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
    with open(path, "ab") as f:
        start = f.tell()
        try:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        except OSError:
            f.truncate(start)
            raise
