"""Numbers computed once per crop: perceptual hashes (also of the mirror image), a small
embedding for fiftyone.brain and dedup, and the feature vector of the learned pollution filter."""

from __future__ import annotations

import cv2
import imagehash
import numpy as np
from PIL import Image

# HOG over a 32×32 grey crop: 3×3 blocks of 2×2 cells of 8 px, 9 orientations = 324 values.
_HOG = cv2.HOGDescriptor((32, 32), (16, 16), (8, 8), (8, 8), 9)
# Sizes of the feature groups, in order: style statistics, HSV histogram, gradient magnitudes,
# gradient orientations, quality scores, HOG. The filter gives each group equal weight.
FEATURE_GROUPS = (9, 54, 8, 8, 5, 324)
FEATURE_LENGTH = sum(FEATURE_GROUPS)
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
    """The learned filter's input (FEATURE_LENGTH values), statistics of style rather than
    pixels so that a few labels generalise to other pictures of the same kind: the face
    region's photo statistics and sharpness, its colour (HSV histogram, saturation and value
    spread), its gradient magnitude and orientation histograms, the crop's quality scores, and
    coarse shape (HOG of 16×16 grey). Standardised and projected per workspace by the filter."""
    from curation.photo_signals import face_region, face_sharpness, photo_statistics

    face = face_region(rgb)
    stats = photo_statistics(rgb)
    hsv = cv2.cvtColor(face, cv2.COLOR_RGB2HSV).reshape(-1, 3).astype(np.float32)
    hist = cv2.calcHist([cv2.cvtColor(face, cv2.COLOR_RGB2HSV)], [0, 1, 2], None, [6, 3, 3],
                        [0, 180, 0, 256, 0, 256]).ravel()
    hist /= max(float(hist.sum()), 1.0)
    gray = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gx, gy = cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1)
    mag, ang = cv2.cartToPolar(gx, gy)
    mags = np.histogram(np.log1p(mag), bins=8, range=(0, 7))[0].astype(np.float32)
    mags /= max(float(mags.sum()), 1.0)
    orient = np.histogram(ang % np.pi, bins=8, range=(0, np.pi), weights=mag)[0].astype(np.float32)
    orient /= max(float(orient.sum()), 1e-6)
    small = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (32, 32), interpolation=cv2.INTER_AREA)
    hog = _HOG.compute(small).ravel()
    style = np.array([stats["flat"], stats["edge_share"], stats["colours"] * 4, stats["noise"] / 4,
                      np.log1p(face_sharpness(rgb)) / 8, hsv[:, 1].mean() / 255,
                      hsv[:, 1].std() / 128, hsv[:, 2].mean() / 255, hsv[:, 2].std() / 128],
                     dtype=np.float32)
    q = np.array([np.log1p(quality["blur"]), quality["brightness"] / 255, quality["contrast"] / 128,
                  quality["entropy"] / 8, quality["colour"] / 64], dtype=np.float32)
    return np.concatenate([style, hist, mags, orient, q, hog]).astype(np.float32)


def to_signed(h: int) -> int:
    """A 64-bit hash as a signed int64 (what MongoDB can store)."""
    return h - (1 << 64) if h >= 1 << 63 else h


def to_unsigned(values) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).view(np.uint64)
