"""Content-addressed storage of raw images and the `raw/manifest.jsonl` that lists them.

Files go to `raw/<aa>/<sha256>.<ext>` with the bytes as served, written atomically; identical
bytes from several URLs are stored once and get one manifest line per URL. Thread-safe: the
pipeline stores from worker threads. A failed write (full or read-only disk) raises
`StorageFailed` naming the path, and leaves no partial file or torn manifest line behind.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from crawler.manifest import MANIFEST, known_urls
from records import append_jsonl, write_atomic


class StorageFailed(Exception):
    """Writing to the workspace failed (disk full, read-only, permissions): one line for the user."""

    def __init__(self, path: Path | str, error: OSError):
        self.path = str(path)
        self.error = error
        super().__init__(f"cannot write {self.path}: {error.strerror or error}")


class JsonlLog:
    """Append-only JSONL file shared by the pipeline's threads: `records.append_jsonl` (one
    flushed and fsynced write per line, no torn line left on failure) under a lock."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def append(self, obj: dict) -> None:
        """Append one line, or StorageFailed naming the file."""
        with self._lock:
            try:
                append_jsonl(self.path, obj)
            except OSError as exc:
                raise StorageFailed(self.path, exc) from exc


class RawStore:
    """The `raw/` folder of a workspace."""

    def __init__(self, raw_dir: Path):
        self.raw_dir = raw_dir
        self.manifest = JsonlLog(raw_dir / MANIFEST)
        self._lock = threading.Lock()
        self._writing: set[str] = set()

    def relpath(self, sha256: str, ext: str) -> str:
        """Path as recorded in the manifest: relative to the workspace (the parent of raw/)."""
        return f"{self.raw_dir.name}/{sha256[:2]}/{sha256}.{ext}"

    def put(self, data: bytes, ext: str) -> tuple[str, str, bool]:
        """Store `data` once; return (sha256, workspace-relative path, whether it was new)."""
        sha = hashlib.sha256(data).hexdigest()
        path = self.raw_dir / sha[:2] / f"{sha}.{ext}"
        with self._lock:
            # Another thread writing the same bytes right now counts as already stored.
            if sha in self._writing or path.exists():
                return sha, self.relpath(sha, ext), False
            self._writing.add(sha)
        try:
            write_atomic(path, data)
        except OSError as exc:
            raise StorageFailed(path, exc) from exc
        finally:
            with self._lock:
                self._writing.discard(sha)
        return sha, self.relpath(sha, ext), True

    def remove(self, sha256: str, ext: str) -> None:
        """Take back a file whose manifest line could not be written (raw/ matches the manifest)."""
        (self.raw_dir / sha256[:2] / f"{sha256}.{ext}").unlink(missing_ok=True)

    def known_urls(self) -> set[str]:
        return known_urls(self.manifest.path)
