"""Uploaded images for the pages: checked by curation's one decoder (size, type by content, not
by name, decompression bombs), squared; drawn masks."""

from __future__ import annotations

import numpy as np
from PIL import Image

from curation.files import ImageDecodeError, read_upload, square

__all__ = ["UploadError", "at_input_size", "drawn_mask", "read_image", "square"]  # square: as `studio project` squares


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


def at_input_size(original: Image.Image, result: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The completion at the input's own size: the known pixels from the input as they are,
    the hole from the (upscaled) completion, the seam feathered."""
    from PIL import ImageFilter

    side = original.width
    up = np.asarray(Image.fromarray(result).resize((side, side), Image.Resampling.LANCZOS),
                    dtype=np.float32)
    mask = Image.fromarray(hole.astype(np.uint8) * 255).resize((side, side), Image.Resampling.NEAREST)
    alpha = np.asarray(mask.filter(ImageFilter.GaussianBlur(max(1, side // 128))),
                       dtype=np.float32)[..., None] / 255
    out = np.asarray(original, dtype=np.float32) * (1 - alpha) + up * alpha
    return out.round().clip(0, 255).astype(np.uint8)
