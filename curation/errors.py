"""The error class of the curation package: something the user can fix (one line, no traceback);
and how a failure of the machine (full disk, no memory) is told from a failure of an image."""

from __future__ import annotations

import errno
import os
from pathlib import Path

# A failure of the machine, not of the image (errno → what to say; {m}: the file system): the
# image is left for the next curate instead of being recorded as broken.
MACHINE_ERRNOS = {errno.ENOSPC: "no space left on {m}", errno.EDQUOT: "the disk quota on {m} is exceeded",
                  errno.EROFS: "the file system {m} is read-only",
                  errno.EIO: "an input/output error on {m}", errno.ENOMEM: "out of memory",
                  errno.EMFILE: "too many open files", errno.ENFILE: "too many open files"}
# How such a failure reads in a source's stored `error` (older versions recorded them as broken).
_MACHINE_TEXTS = (*(f"[Errno {n}]" for n in MACHINE_ERRNOS), "MemoryError")


class CurationError(Exception):
    """Bad input or setup for curation: a missing cascade, a busy catalog, a bad labels file."""

    user_facing = True  # its message is for the user: no traceback in reports


def machine_failure(exc: BaseException, where: Path | str | None = None) -> str | None:
    """One line for a failure of the machine (a full, read-only or failing disk, no memory), naming
    the file system of the failing file (else of `where`); None when the failure is the image's."""
    if isinstance(exc, MemoryError):
        return "out of memory"
    if not isinstance(exc, OSError) or exc.errno not in MACHINE_ERRNOS:
        return None
    path = exc.filename if isinstance(exc.filename, str) else where
    return MACHINE_ERRNOS[exc.errno].format(m=mount_of(path) if path else "the disk")


def is_machine_failure_text(error: str | None) -> bool:
    """Whether a recorded error is a failure of the machine (e.g. "OSError: [Errno 28] No space
    left on device"), as versions before the retry recorded them."""
    return bool(error) and any(t in error for t in _MACHINE_TEXTS)


def mount_of(path: Path | str) -> str:
    """The mount point holding `path` (the nearest existing folder's)."""
    p = Path(os.path.abspath(path))
    while not p.exists() and p != p.parent:
        p = p.parent
    while not os.path.ismount(p) and p != p.parent:
        p = p.parent
    return str(p)
