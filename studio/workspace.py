"""The workspace: where every stage keeps its files, and the per-stage locks (.locks/).

Paths only: each file's format belongs to its owner (docs/architecture.md, "The workspace's
files"), and the atomic writer and JSONL reader are `records`', imported from there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from studio.errors import UserError

__all__ = ["CONFIG_NAME", "DEFAULT_WORKSPACE", "Workspace"]

DEFAULT_WORKSPACE = Path("studio-data")
CONFIG_NAME = "studio.toml"


@dataclass(frozen=True)
class Workspace:
    """Paths of one workspace (see docs/architecture.md, "The workspace's files")."""

    root: Path

    @classmethod
    def at(cls, root: Path | str | None = None) -> Workspace:
        if root is None:
            root = os.environ.get("STUDIO_WORKSPACE") or DEFAULT_WORKSPACE
        return cls(Path(root).expanduser().resolve())

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def raw_dir(self) -> Path:
        return self.root / "raw"

    @property
    def raw_manifest(self) -> Path:
        return self.raw_dir / "manifest.jsonl"

    @property
    def crawl_dir(self) -> Path:
        return self.root / "crawl"

    @property
    def faces_dir(self) -> Path:
        return self.root / "faces"

    @property
    def db_dir(self) -> Path:
        return self.root / "db"

    @property
    def exports_dir(self) -> Path:
        return self.root / "exports"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    def run_path(self, name: Path) -> Path:
        """A run named on the command line: the path itself when it exists, else runs/<name>
        when that exists (a run id), else the path (for the caller's "no such run")."""
        return name if name.exists() or not (self.runs_dir / name).exists() else self.runs_dir / name

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def current_model(self) -> Path:
        return self.models_dir / "current.json"

    @property
    def locks_dir(self) -> Path:
        return self.root / ".locks"

    def exists(self) -> bool:
        return self.config_path.is_file()

    def require(self) -> Workspace:
        """Fail with a clear message when the folder is not a workspace yet."""
        if not self.exists():
            raise UserError(f"no workspace at {self.root} (run `studio init --workspace {self.root}`)")
        return self

    def require_space(self, min_bytes: int = 256 * 2**20) -> Workspace:
        """Refuse to start a stage that writes (curate, export) on an almost full disk: one
        line now beats a database that dies of ENOSPC halfway through."""
        free = shutil.disk_usage(self.root).free
        if free < min_bytes:
            raise UserError(f"only {free // 2**20} MiB free on the disk of {self.root}; free at "
                            f"least {min_bytes // 2**20} MiB and run the command again")
        return self

    @contextmanager
    def lock(self, stage: str, wait: float = 0) -> Iterator[None]:
        """Hold the lock of one stage (crawl, curate, train, pipeline…) of this workspace.

        A second process waits up to `wait` seconds, then fails with a clear message. The lock is
        an OS file lock: a killed holder releases it, so no stale lock survives a crash.
        """
        self.locks_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.locks_dir / f"{stage}.lock")
        try:
            lock.acquire(timeout=wait)
        except Timeout:
            raise UserError(
                f"another studio process is running `{stage}` on {self.root}; try again when it ends"
            ) from None
        try:
            yield
        finally:
            lock.release()
