"""Reading a workspace's own files, and nothing else, even when the workspace came from someone
else: a path from a record (raw/manifest.jsonl, the catalog) must stay inside its folder (`raw/`,
`faces/`), is opened one folder at a time without following a symbolic link (O_NOFOLLOW), and
must be a regular file (a FIFO would hang the reader; a device or a link to /etc/passwd is not
an image of the workspace). curate reads sources and export copies crops only through here.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path, PurePosixPath


class Refused(Exception):
    """A file the workspace may not hand us: outside its folder, through a symbolic link, not a
    regular file, too big. The message is one line for a person."""


def path_problem(rel: str, folder: str) -> str | None:
    """Why `rel` (relative to the workspace) is not a plain path inside `folder`; None if it is."""
    parts = PurePosixPath(rel).parts
    if "\0" in rel or PurePosixPath(rel).is_absolute() or len(parts) < 2 or parts[0] != folder \
            or any(p in ("..", ".") for p in parts):
        return f"{rel!r} is not a path inside {folder}/"
    return None


def open_confined(root: Path, rel: str, folder: str) -> int:
    """A read-only descriptor of the regular file `rel` inside `root`/`folder`, opened without
    following any symbolic link on the way; Refused, or FileNotFoundError when it is not there.
    `root` itself is trusted (the caller resolved it)."""
    if why := path_problem(rel, folder):
        raise Refused(why)
    parts = PurePosixPath(rel).parts
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_NONBLOCK if last else os.O_DIRECTORY)
            try:
                nxt = os.open(part, flags, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    shown = "/".join(parts[:depth + 1])
                    link = os.path.islink(os.path.join(root, shown))
                    raise Refused(f"{shown} is {'a symbolic link' if link else 'not a folder'} "
                                  "(no link is followed out of a workspace)") from None
                raise
            os.close(fd)
            fd = nxt
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Refused(f"{rel} is not a regular file")
        result, fd = fd, -1
        return result
    finally:
        if fd >= 0:
            os.close(fd)


def read_confined(root: Path, rel: str, folder: str, max_bytes: int) -> bytes:
    """The bytes of `rel`, opened as `open_confined` does; Refused when over `max_bytes`."""
    fd = open_confined(root, rel, folder)
    with os.fdopen(fd, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size > max_bytes:
            raise Refused(f"{rel} is {size / 1e6:.0f} MB; the most read is {max_bytes / 1e6:.0f} MB")
        return f.read(max_bytes + 1)


def confined_path(root: Path, rel: str | None, folder: str) -> Path | None:
    """`root`/`rel` when it is a regular file inside `folder` reached through no symbolic link;
    None otherwise (for readers that take a path: the pictures compared for duplicates)."""
    if not rel:
        return None
    try:
        os.close(open_confined(root, rel, folder))
    except (Refused, OSError):
        return None
    return root / rel
