"""Numbers computed once per crop: perceptual hashes (also of the mirror image), a small
embedding for fiftyone.brain, and the feature vector of the learned pollution filter."""

from __future__ import annotations

import cv2
import imagehash
import numpy as np
from PIL import Image

# HOG over a 32×32 grey crop: 3×3 blocks of 2×2 cells of 8 px, 9 orientations = 324 values.
_HOG = cv2.HOGDescriptor((32, 32), (16, 16), (8, 8), (8, 8), 9)
QUALITY_KEYS = ("blur", "brightness", "contrast", "entropy", "colour")


def _hash_int(h: imagehash.ImageHash) -> int:
    return int("".join("1" if b else "0" for b in h.hash.ravel()), 2)


def perceptual_hashes(rgb: np.ndarray) -> dict[str, int]:
    """pHash and dHash of the crop and of its mirror image, as 64-bit integers."""
    img = Image.fromarray(rgb)
    flipped = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return {
        "phash": _hash_int(imagehash.phash(img)),
        "dhash": _hash_int(imagehash.dhash(img)),
        "phash_flip": _hash_int(imagehash.phash(flipped)),
        "dhash_flip": _hash_int(imagehash.dhash(flipped)),
    }


def embedding(rgb: np.ndarray) -> np.ndarray:
    """A 16×16 grey thumbnail averaged with its mirror image, zero-mean and unit-norm.

    Cosine distance ≈ 1 − correlation; the mirror average makes a flipped copy embed alike.
    Cheap and computed locally, so fiftyone.brain never downloads a model to embed crops.
    """
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gray = (gray + gray[:, ::-1]) / 2
    v = cv2.resize(gray, (16, 16), interpolation=cv2.INTER_AREA).ravel()
    v -= v.mean()
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def filter_features(rgb: np.ndarray, quality: dict[str, float]) -> np.ndarray:
    """HOG shape + HSV colour histogram + quality scores: the learned filter's input (389 values)."""
    gray = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (32, 32), interpolation=cv2.INTER_AREA)
    hog = _HOG.compute(gray).ravel()
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [4, 4, 4], [0, 180, 0, 256, 0, 256]).ravel()
    hist /= max(float(hist.sum()), 1.0)
    q = np.array([np.log1p(quality["blur"]), quality["brightness"] / 255, quality["contrast"] / 128,
                  quality["entropy"] / 8, quality["colour"] / 64], dtype=np.float32)
    return np.concatenate([hog, hist, q]).astype(np.float32)


def to_signed(h: int) -> int:
    """A 64-bit hash as a signed int64 (what MongoDB can store)."""
    return h - (1 << 64) if h >= 1 << 63 else h


def to_unsigned(values) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).view(np.uint64)
