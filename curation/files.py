"""Safe image decoding for curation, with a decompression-bomb guard (atomic writes: records)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image

# Bigger than any photo a crawler should keep; Pillow's own default warns at 89 Mpx and we
# want a hard error instead of a warning for anything near a decompression bomb.
MAX_PIXELS = 64_000_000


class ImageDecodeError(Exception):
    """The file is missing, truncated, not an image, or too large to decode safely."""


def load_rgb(path: Path) -> np.ndarray:
    """Decode an image file to an RGB uint8 array (H, W, 3), or raise ImageDecodeError."""
    if not path.is_file():
        raise ImageDecodeError(f"missing file {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise ImageDecodeError(f"{path}: {img.width}x{img.height} is too large to decode")
                img.load()
                return np.asarray(img.convert("RGB"))
    except ImageDecodeError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise ImageDecodeError(f"{path}: cannot decode ({exc})") from None
