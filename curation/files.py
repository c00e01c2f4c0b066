"""The one bomb-guarded image decoder: crawled files (`load_source`: read inside the workspace
only, checked against their sha256; `load_rgb` for a file named directly) and images a person
hands in (`read_upload`, the app's uploads and `studio project`/`complete`'s files) go through
`decode_rgb`.

It lives here, a floor below the app and the studio, so both decode as curation does (atomic
writes: records).
"""

from __future__ import annotations

import hashlib
import io
import mmap
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from curation.confined import read_confined
from curation.errors import MACHINE_ERRNOS
from records import jpeg_scan_limit, jpeg_scans

# Bigger than any photo a crawler should keep; Pillow's own default warns at 89 Mpx and we
# want a hard error instead of a warning for anything near a decompression bomb.
MAX_PIXELS = 64_000_000
# The most bytes of a crawled file read (the crawl's own `max_bytes` defaults to 20 MB).
MAX_SOURCE_BYTES = 256 * 2**20

# An image a person hands in (a face to project or complete, a mask): far smaller limits.
UPLOAD_MAX_BYTES = 10 * 1024 * 1024  # matches `server.maxUploadSize` of `studio app`
UPLOAD_MAX_PIXELS = 4096 * 4096  # a face crop needs far less; anything bigger is refused unread
UPLOAD_FORMATS = ("PNG", "JPEG", "WEBP")  # type by content, never by name
_FORMAT_NAMES = {"WEBP": "WebP"}


class ImageDecodeError(Exception):
    """The file is missing, truncated, not an image, or too large to decode safely; the message
    is one line for a person."""


class MissingFile(ImageDecodeError):
    """The file is not there (yet: the crawler may still be writing it)."""


def decode_rgb(source: bytes | Path, *, max_pixels: int = MAX_PIXELS,
               formats: tuple[str, ...] | None = None) -> Image.Image:
    """Decode image bytes or an image file to an RGB image, or raise ImageDecodeError: not an
    image (of `formats`, when given), more than `max_pixels` (checked on the header, before a
    single pixel is decoded), a decompression bomb, a JPEG of more scans than `jpeg_scan_limit`
    allows (counted on its markers, before decoding: each scan is a full pass), truncated."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as im:  # header only
                if formats is not None and im.format not in formats:
                    names = [_FORMAT_NAMES.get(f, f) for f in formats]
                    raise ImageDecodeError(f"not a {', '.join(names[:-1])} or {names[-1]} image "
                                           f"(found {im.format or 'unknown'})")
                w, h = im.size
                if w * h > max_pixels:
                    raise ImageDecodeError(f"the image is {w}×{h} pixels; the limit is {max_pixels:,} pixels")
                scans = jpeg_scan_limit(w * h)
                if im.format in ("JPEG", "MPO") and _scans(source, scans) > scans:
                    raise ImageDecodeError(f"the JPEG has over {scans} scans of {w}×{h} pixels "
                                           "(encoders write about 10): a decoding bomb, not decoded")
                im.load()
                return im.convert("RGB")
    except ImageDecodeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageDecodeError("the image claims too many pixels (a decompression bomb?)") from None
    except Image.UnidentifiedImageError:  # its message names a BytesIO, not the file: say it plainly
        raise ImageDecodeError("not a readable image (not a format Pillow recognises)") from None
    except (OSError, SyntaxError, ValueError) as exc:  # Pillow's ways of saying "not an image"
        if isinstance(exc, OSError) and exc.errno in MACHINE_ERRNOS:
            raise  # the disk failed, not the image (an I/O error): the caller says so
        raise ImageDecodeError(f"not a readable image ({exc})") from None


def _scans(source: bytes | Path, limit: int) -> int:
    """The JPEG's scans (up to `limit` + 1), from its markers; a file is mapped, not read."""
    if isinstance(source, bytes):
        return jpeg_scans(source, limit)
    with open(source, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return jpeg_scans(data, limit)


def load_rgb(path: Path) -> np.ndarray:
    """Decode an image file to an RGB uint8 array (H, W, 3), or raise ImageDecodeError."""
    if not path.is_file():
        raise MissingFile(f"missing file {path}")
    try:
        return np.asarray(decode_rgb(path))
    except ImageDecodeError as exc:
        raise ImageDecodeError(f"{path}: {exc}") from None


def load_source(root: Path, rel: str, sha256: str) -> np.ndarray:
    """A crawled image of the workspace `root` (its manifest path `rel`), decoded to RGB (H, W, 3):
    read from inside raw/ only, through no symbolic link (curation.confined.Refused), and only
    when its bytes hash to `sha256` (else ImageDecodeError: damaged or replaced since the crawl);
    MissingFile when it is not there."""
    try:
        data = read_confined(root, rel, "raw", MAX_SOURCE_BYTES)
    except FileNotFoundError:
        raise MissingFile(f"missing file {rel}") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ImageDecodeError(f"{rel}: its bytes do not match its sha256 (damaged or replaced "
                               "since the crawl)")
    try:
        return np.asarray(decode_rgb(data))
    except ImageDecodeError as exc:
        raise ImageDecodeError(f"{rel}: {exc}") from None


def read_upload(data: bytes) -> Image.Image:
    """An image a person hands in, as RGB, or ImageDecodeError: too big, not a PNG, JPEG or WebP,
    more than UPLOAD_MAX_PIXELS, a bomb (of pixels or of JPEG scans), truncated."""
    if len(data) > UPLOAD_MAX_BYTES:
        raise ImageDecodeError(f"the file is {len(data) / 1e6:.1f} MB; the limit is "
                               f"{UPLOAD_MAX_BYTES // 2**20} MB")
    return decode_rgb(data, max_pixels=UPLOAD_MAX_PIXELS, formats=UPLOAD_FORMATS)


def square(im: Image.Image, side: int) -> Image.Image:
    """Centre-crop to a square and resize to `side` (the generator's resolution)."""
    s = min(im.size)
    left, top = (im.width - s) // 2, (im.height - s) // 2
    return im.crop((left, top, left + s, top + s)).resize((side, side), Image.Resampling.LANCZOS)
