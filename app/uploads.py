"""Checks on uploaded images: size, type by content (not by name), decompression bombs; drawn masks."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image

MAX_BYTES = 10 * 1024 * 1024  # matches `server.maxUploadSize` of `studio app`
MAX_PIXELS = 4096 * 4096  # a face crop needs far less; anything bigger is refused unread
FORMATS = {"PNG", "JPEG", "WEBP"}


class UploadError(ValueError):
    """An upload the page refuses, with the one-line reason."""


def read_image(data: bytes) -> Image.Image:
    """The upload as an RGB image, or UploadError: too big, not an image, a bomb, truncated."""
    if len(data) > MAX_BYTES:
        raise UploadError(f"the file is {len(data) / 1e6:.1f} MB; the limit is {MAX_BYTES // 2**20} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))  # reads the header only
            if im.format not in FORMATS:
                raise UploadError(f"not a PNG, JPEG or WebP image (found {im.format or 'unknown'})")
            w, h = im.size
            if w * h > MAX_PIXELS:  # checked before decoding a single pixel
                raise UploadError(f"the image is {w}×{h} pixels; the limit is {MAX_PIXELS:,} pixels")
            im.load()
            return im.convert("RGB")
    except UploadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadError("the image claims too many pixels (a decompression bomb?)") from None
    except Image.UnidentifiedImageError:  # its message names the BytesIO, not the file: say it plainly
        raise UploadError("not a readable image (not a format Pillow recognises)") from None
    except (OSError, SyntaxError, ValueError) as exc:  # Pillow's ways of saying "not an image"
        raise UploadError(f"not a readable image ({exc})") from None


def square(im: Image.Image, side: int) -> Image.Image:
    """Centre-crop to a square and resize to `side` (the generator's resolution)."""
    s = min(im.size)
    left, top = (im.width - s) // 2, (im.height - s) // 2
    return im.crop((left, top, left + s, top + s)).resize((side, side), Image.Resampling.LANCZOS)


def drawn_mask(rgba: np.ndarray | None) -> np.ndarray | None:
    """The canvas's RGBA drawing (strokes only: the background image is not part of it) as a
    uint8 mask, 255 where anything was painted; None when nothing was."""
    if rgba is None or rgba.ndim != 3 or rgba.shape[2] != 4:
        return None
    painted = rgba[..., 3] > 0
    return painted.astype(np.uint8) * 255 if painted.any() else None
