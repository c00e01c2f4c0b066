"""Uploaded images for the pages: checked by curation's one decoder (size, type by content, not
by name, decompression bombs), squared; drawn masks."""

from __future__ import annotations

import numpy as np
from PIL import Image

from curation.files import ImageDecodeError, read_upload, square

__all__ = ["UploadError", "drawn_mask", "read_image", "square"]  # square: as `studio project` squares


class UploadError(ValueError):
    """An upload the page refuses, with the one-line reason."""


def read_image(data: bytes) -> Image.Image:
    """The upload as an RGB image, or UploadError: too big, not an image, a bomb, truncated
    (curation.files.read_upload, the decoder `studio project` and `complete` use too)."""
    try:
        return read_upload(data)
    except ImageDecodeError as exc:
        raise UploadError(str(exc)) from None


def drawn_mask(rgba: np.ndarray | None) -> np.ndarray | None:
    """The canvas's RGBA drawing (strokes only: the background image is not part of it) as a
    uint8 mask, 255 where anything was painted; None when nothing was."""
    if rgba is None or rgba.ndim != 3 or rgba.shape[2] != 4:
        return None
    painted = rgba[..., 3] > 0
    return painted.astype(np.uint8) * 255 if painted.any() else None
