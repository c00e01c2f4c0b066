"""Errors a user can cause: printed as one line on stderr, exit status 2, no traceback."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOW_DISK_BYTES = 64 * 2**20  # below this, a database failure is most likely the full disk
# A full, read-only or unwritable disk is the user's to fix: one line naming the path and the fix
# for that cause (a read-only disk is not made writable by freeing space).
ENVIRONMENT_ERRNOS = {errno.ENOSPC: "the disk is full", errno.EROFS: "the file system is read-only",
                      errno.EACCES: "permission denied", errno.EDQUOT: "the disk quota is exceeded",
                      errno.EPERM: "operation not permitted"}
_FIXES = {errno.ENOSPC: "free space", errno.EDQUOT: "free space or raise the quota",
          errno.EROFS: "mount it read-write or copy the workspace to a writable disk"}


class UserError(Exception):
    """Bad input, bad config, a busy workspace: something the user can fix."""

    user_facing = True  # the packages' error classes carry the same mark (they cannot import this one)


@contextmanager
def user_errors(*exc_types: type[BaseException]) -> Iterator[None]:
    """Turn the given library error types into a `UserError` with the same message.

    The packages below `studio/` (crawler, curation, gan) cannot import `studio`, so each raises
    its own error class; a command wraps its call in this to report them as user errors.
    """
    try:
        yield
    except exc_types as exc:
        raise UserError(str(exc)) from exc


def one_line(exc: BaseException) -> str:
    """The first line of an error's message, with its type when the message is empty."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def environment_problem(exc: BaseException) -> str | None:
    """One line for a failure of the machine rather than of the code (a full or read-only disk,
    the catalog database unreachable), or None for a bug, which keeps its traceback."""
    for e in _chain(exc):
        if isinstance(e, OSError) and e.errno in ENVIRONMENT_ERRNOS:
            where = f" ({e.filename})" if e.filename else ""
            fix = _FIXES.get(e.errno, "fix the permissions")
            return f"{ENVIRONMENT_ERRNOS[e.errno]}{where}; {fix}, then run the command again (it resumes)"
        if type(e).__module__.startswith("pymongo."):
            return _database_problem(e)
    return None


def _database_problem(exc: BaseException) -> str:
    """Why the workspace's own database went away, from its supervisor's record or the disk,
    rather than the driver's view of a refused connection."""
    root = os.environ.get("STUDIO_DATABASE_FOR")  # set while this process uses its own db/
    if root:
        from curation.catalog.dbfiles import error_file

        record = error_file(Path(root) / "db")
        if record.is_file() and (reason := record.read_text(errors="replace").strip()):
            return reason.splitlines()[-1]
        if _read_only(root):  # before free space: a read-only disk may also have none free
            return (f"the file system of {root} is read-only; mount it read-write or copy the "
                    "workspace to a writable disk, then run the command again")
        if shutil.disk_usage(root).free < LOW_DISK_BYTES:
            return (f"the disk is full ({root}); free space, then run the command again "
                    "(it resumes)")
    return f"the catalog database failed: {one_line(exc)[:200]}"


def _read_only(path: str) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__
