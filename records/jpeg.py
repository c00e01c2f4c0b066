"""The scans of a JPEG, counted from its markers before any pixel is decoded.

A progressive JPEG may repeat its scans over the same pixels thousands of times, and the decoder
does a full pass for each (libjpeg has no limit of its own; Pillow sets none): a 568 KB file with
2,000 scans of 64 Mpx took 130 s to decode. Encoders write one scan per component (baseline), 10
(libjpeg's and Pillow's progressive script for colour) and at most 18 (libjpeg's, for CMYK); so
the crawl's validation and curation's decoder both refuse a JPEG with more scans than
`jpeg_scan_limit` allows: 100, and fewer on big pictures, so that scans × pixels stays under
MAX_SCAN_PIXELS (20 scans of 64 Mpx). The worst that passes decodes in about 2 s on one core.
"""

from __future__ import annotations

import mmap
import re

MAX_JPEG_SCANS = 100  # on a picture of up to MAX_SCAN_PIXELS / 100 (12.8 Mpx)
MIN_JPEG_SCANS = 20  # allowed whatever the size: above any encoder's (libjpeg's CMYK: 18)
MAX_SCAN_PIXELS = 20 * 64_000_000  # scans × pixels: each scan is a pass over every pixel
# In entropy-coded data a 0xFF is followed by 0x00 (a stuffed byte) or a restart marker; any
# other byte after 0xFF (after fill bytes) starts the next marker segment.
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_NO_LENGTH = {0x01, 0xD8, *range(0xD0, 0xD8)}  # TEM, SOI, RSTn: a marker without a segment


def jpeg_scan_limit(pixels: int) -> int:
    """The most scans a JPEG of `pixels` pixels may have to be decoded."""
    return min(MAX_JPEG_SCANS, max(MIN_JPEG_SCANS, MAX_SCAN_PIXELS // max(1, pixels)))


def jpeg_scans(data: bytes | mmap.mmap, stop_after: int = MAX_JPEG_SCANS) -> int:
    """How many scans (SOS segments) the JPEG in `data` (bytes, or a file mapped) has, up to its first EOI, walked segment
    by segment as the decoder does (so the scans of an embedded thumbnail do not count); 0 for
    bytes that are not a JPEG. Counting stops at `stop_after` + 1: enough to refuse."""
    if data[:2] != b"\xff\xd8":
        return 0
    i, n, size = 2, 0, len(data)
    while i + 1 < size and n <= stop_after:
        if data[i] != 0xFF:  # junk between segments: the decoder skips to the next marker too
            i = data.find(b"\xff", i)
            if i < 0:
                break
            continue
        marker = data[i + 1]
        if marker == 0xFF:  # a fill byte before a marker
            i += 1
            continue
        if marker == 0x00:  # a stuffed 0xFF in junk, not a marker: skipped as the decoder does
            i += 2
            continue
        if marker == 0xD9:  # EOI: the decoder stops here (an MPO's second picture is not read)
            break
        if marker in _NO_LENGTH:
            i += 2
            continue
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
        if marker == 0xDA:
            n += 1
            found = _NEXT_MARKER.search(data, i)
            if found is None:
                break
            i = found.start()
    return n
