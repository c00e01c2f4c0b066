"""A detector plug-in (`--detector tests.curation.disk_filler_detector:factory`) that detects like
`human` and, on the FILL_AFTER-th image its worker sees, fills the file system of the file named by
$STUDIO_TEST_FILLER to the last byte: a disk that fills up halfway through a curate."""

from __future__ import annotations

import errno
import os

from curation.detectors import human_detector

FILL_AFTER = 5  # images 1..4 are cropped on a disk with room; from the 5th on it is full
_seen = [0]


def fill(path: str) -> None:
    """Write `path` until its file system has no byte left."""
    with open(path, "ab", buffering=0) as f:
        for chunk in (2**20, 2**12, 1):
            try:
                while True:
                    f.write(b"\0" * chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise


def factory(cascade=None):
    human = human_detector(cascade)

    def detect(rgb):
        _seen[0] += 1
        if _seen[0] == FILL_AFTER:
            fill(os.environ["STUDIO_TEST_FILLER"])
        return human(rgb)

    return detect
