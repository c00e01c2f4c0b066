"""Validation of downloaded image bytes before they are stored (runs off the reactor thread).

Only JPEG, PNG, WebP and GIF (first frame) pass; markup served as an image, truncated or
undecodable files, decompression bombs, progressive JPEGs of more scans than
`records.jpeg_scan_limit` allows, images over `MAX_PIXELS` and images below the minimum size are rejected with a reason that ends up in the crawl stats.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from records import jpeg_scan_limit, jpeg_scans

# Pillow format name -> file extension used in raw/ (the bytes are stored as served).
ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
# Pillow's own default, used if someone switched the limit off (None): the limit stays on here.
DEFAULT_MAX_PIXELS = 89_478_485
# The most pixels an image may have to be kept: curate refuses anything larger
# (curation/files.py MAX_PIXELS, the same number; curate could import this one), so the crawl
# does not store what curate would always drop. Over Pillow's bomb limit the reason is
# `decompression_bomb`, between the two `too_many_pixels`.
MAX_PIXELS = 64_000_000


class Rejected(Exception):
    """The bytes are not an image we keep; `reason` is a short stats key."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ImageInfo:
    format: str  # Pillow's name: JPEG, PNG, WEBP, GIF
    ext: str  # file extension in raw/
    width: int
    height: int


def validate_image(data: bytes, min_side: int = 64) -> ImageInfo:
    """Return what the image is, or raise `Rejected` with the reason it is not kept."""
    if not data:
        raise Rejected("empty")
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<") or b"<html" in head or b"<!doctype" in head:
        raise Rejected("svg" if b"<svg" in data[:8192].lower() else "html_as_image")
    limit = Image.MAX_IMAGE_PIXELS or DEFAULT_MAX_PIXELS
    try:
        # Between 1x and 2x the limit Pillow only warns (the crawl process silences that
        # warning, see crawler.run); such images are rejected below before any decoding.
        im = Image.open(io.BytesIO(data))
        with im:
            if im.format not in ALLOWED_FORMATS:
                raise Rejected("unsupported_format", str(im.format))
            width, height = im.size
            if width * height > limit:
                raise Rejected("decompression_bomb", f"{width}x{height}")
            if width * height > MAX_PIXELS:
                raise Rejected("too_many_pixels", f"{width}x{height} > {MAX_PIXELS}")
            if min(width, height) < min_side:
                raise Rejected("too_small", f"{width}x{height}")
            scans = jpeg_scan_limit(width * height)
            if im.format == "JPEG" and jpeg_scans(data, scans) > scans:
                # Each scan is a full decoding pass, even at 1/8 scale: refused before the first.
                raise Rejected("too_many_scans", f"over {scans} scans of {width}x{height} "
                               "(encoders write about 10; a progressive-JPEG decoding bomb?)")
            if im.format == "JPEG":
                # Decode at 1/8 scale (DCT scaling): every byte of the scan is still read, so
                # truncation and corruption still fail, at a fraction of the cost.
                im.draft(im.mode, (max(1, width // 8), max(1, height // 8)))
            im.load()  # decode the (first) frame: truncated data fails here
    except Rejected:
        raise
    except Image.DecompressionBombError as exc:
        raise Rejected("decompression_bomb", str(exc)) from None
    except UnidentifiedImageError:
        raise Rejected("not_an_image") from None
    except OSError as exc:
        reason = "truncated" if "truncated" in str(exc) else "undecodable"
        raise Rejected(reason, str(exc)) from None
    except (ValueError, SyntaxError, EOFError, IndexError, TypeError, MemoryError) as exc:
        # Pillow's plugins raise these on malformed headers and chunks.
        raise Rejected("undecodable", f"{type(exc).__name__}: {exc}") from None
    return ImageInfo(im.format, ALLOWED_FORMATS[im.format], width, height)
