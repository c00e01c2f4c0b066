"""Signals for the pollution an anime-face crawl lets through: a photograph rather than a
drawing, and a face blurred compared with the rest of its own picture.

Both look at the face region of a crop (its middle 60 %: with the default 1.5 margin the face
fills the middle 2/3), so a drawn face on a photographed background still counts as drawn.
Measured on an early draw of the anime bench set (bench/curation_quality.py: 182 anime crops
from Ren'Py sprites and drawn faces, 38 blurred, 9 photos of people); the thresholds were
chosen on it, so the bench's rule-only figures flatter them: see the constants.
"""

from __future__ import annotations

import cv2
import numpy as np

FACE_FRACTION = 0.6  # the part of the crop side the statistics look at
# Drawn art is flat fills between thin lines: many pixels whose 3×3 neighbourhood is uniform,
# and the gradient energy concentrated in the lines. Anime crops: flat fraction median 0.50
# (5th percentile 0.11), top-10 % gradient share median 0.47 (5th pct 0.36); photos of people:
# 0.08 and 0.34. A crop is a photo only when both say so.
PHOTO_MAX_FLAT = 0.12
PHOTO_MAX_EDGE_SHARE = 0.36
FLAT_STD = 1.5  # grey levels: a 3×3 neighbourhood this uniform is a flat fill
# Detailed sprites (fine line work, dithered shading) can be neither flat nor edge-concentrated
# at crop size, but their pixel-level residual from a 3×3 median is large: mean 5.6–8.5 grey
# levels on the 7 anime crops the two rules above called photos in the seed-1 bench draw,
# 1.1–2.9 on its 39 photos. A photo also has a residual below PHOTO_MAX_NOISE.
PHOTO_MAX_NOISE = 4.0
# log(face sharpness) − log(source sharpness), source sharpness = the 98th percentile of its
# 32-px tiles' Laplacian variance (its sharpest 2 %). On the bench set (173 anime crops, 38
# defocused with Gaussian sigma 2.5–6, 9 photos of people), threshold chosen there:
#   90th percentile, −1.2: anime 0 flagged (min −0.56), defocused 26/38 (flat drawings: their
#   90th-percentile tile is flat too); 98th, −1.5: anime 0 (min −0.95), defocused 38/38;
#   the sharpest tile, −1.5: anime 1, defocused 38/38.
SOURCE_PERCENTILE = 98
BLUR_LOG_RATIO = -1.5  # below this the face is blurred for its picture (< 22 % of its sharpness)
TILE = 32


def face_region(crop: np.ndarray, fraction: float = FACE_FRACTION) -> np.ndarray:
    s = crop.shape[0]
    m = round(s * (1 - fraction) / 2)
    return crop[m:s - m, m:s - m]


def photo_statistics(crop: np.ndarray) -> dict[str, float]:
    """Flat-fill fraction, share of gradient energy in the strongest 10 % of pixels, colour
    variety (distinct 5-bit colours per pixel) and fine noise of the face region."""
    face = face_region(crop)
    gray = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY).astype(np.float32)
    mean = cv2.blur(gray, (3, 3))
    std = np.sqrt(np.maximum(cv2.blur(gray * gray, (3, 3)) - mean * mean, 0))
    mag = np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1)).ravel()
    top = np.partition(mag, len(mag) - len(mag) // 10)[len(mag) - len(mag) // 10:]
    q = (face // 8).reshape(-1, 3).astype(np.int32)
    colours = len(np.unique(q[:, 0] * 1024 + q[:, 1] * 32 + q[:, 2])) / len(q)
    residual = np.abs(face.astype(np.float32) - cv2.medianBlur(face, 3)).mean(axis=2)
    return {
        "flat": float((std < FLAT_STD).mean()),
        "edge_share": float(top.sum() / max(float(mag.sum()), 1e-6)),
        "colours": float(colours),
        "noise": float(residual.mean()),
    }


def looks_like_photo(stats: dict[str, float]) -> bool:
    return (stats["flat"] < PHOTO_MAX_FLAT and stats["edge_share"] < PHOTO_MAX_EDGE_SHARE
            and stats["noise"] < PHOTO_MAX_NOISE)


def face_sharpness(crop: np.ndarray) -> float:
    """Variance of the Laplacian of the face region of the crop."""
    gray = cv2.cvtColor(face_region(crop), cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(cv2.Laplacian(gray, cv2.CV_32F).var())


SHARPNESS_MAX_PIXELS = 4_000_000  # = curation.process.DETECT_MAX_PIXELS


def source_sharpness(rgb: np.ndarray, face_side: int, crop_size: int = 128,
                     margin: float = 1.5) -> float:
    """How sharp the picture's own sharp parts are, at the scale its crops of this face size
    are stored: resampled like the crop, a high percentile of per-tile Laplacian variance."""
    scale = crop_size / (margin * max(face_side, 1))
    # Bounded memory (curate's 1.5 GB per worker): at most SHARPNESS_MAX_PIXELS after the
    # resampling, from the centre of a picture too big for that (a small face in a 64 Mpx
    # photo would otherwise be upscaled to hundreds of megapixels).
    h, w = rgb.shape[:2]
    allowed = SHARPNESS_MAX_PIXELS / scale**2  # source pixels
    if h * w > allowed:
        ch = max(TILE, min(h, int((allowed * h / w) ** 0.5)))
        cw = max(TILE, min(w, int(allowed / ch)))
        y0, x0 = (h - ch) // 2, (w - cw) // 2
        rgb = rgb[y0:y0 + ch, x0:x0 + cw]
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    gray = cv2.resize(gray, None, fx=scale, fy=scale,
                      interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    lap = cv2.Laplacian(gray.astype(np.float32), cv2.CV_32F)
    h, w = (s // TILE * TILE for s in lap.shape)
    if h == 0 or w == 0:
        return float(lap.var())
    tiles = lap[:h, :w].reshape(h // TILE, TILE, w // TILE, TILE).var(axis=(1, 3))
    return float(np.percentile(tiles, SOURCE_PERCENTILE))


def blur_log_ratio(crop: np.ndarray, source_sharp: float) -> float:
    """log of face sharpness over the source's sharpness (< 0: softer than its picture)."""
    return float(np.log1p(face_sharpness(crop)) - np.log1p(source_sharp))
