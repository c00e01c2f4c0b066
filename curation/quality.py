"""Image-quality scores of a crop and the reasons a crop fails the configured thresholds."""

from __future__ import annotations

import cv2
import numpy as np

from curation.config import CurateConfig
from curation.detectors import detector_subject

# Drawn art has few grey levels: anime crops' grey entropy is 2.6–7.5 bits, median 3.8 (183
# crops, bench/curation_quality.py), so the photo-made default of 4 bits rejected half of them.
# For a detector of drawn faces (`anime`, a plug-in declaring "drawn") the floor is 2 bits (a
# flat or almost empty crop is still caught).
ANIME_MIN_ENTROPY = 2.0


def quality_scores(rgb: np.ndarray) -> dict[str, float]:
    """Blur (variance of the Laplacian), brightness, contrast, entropy and colourfulness."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    hist = np.bincount(gray.ravel(), minlength=256).astype(np.float64)
    p = hist[hist > 0] / gray.size
    channels = rgb.astype(np.int16)
    # Mean spread between colour channels: ~0 for greyscale pictures stored as RGB.
    colour = float(np.mean(channels.max(axis=2) - channels.min(axis=2)))
    return {
        "blur": float(cv2.Laplacian(gray, cv2.CV_64F).var()),
        "brightness": float(gray.mean()),
        "contrast": float(gray.std()),
        "entropy": float(-(p * np.log2(p)).sum()),
        "colour": colour,
    }


def quality_failures(q: dict[str, float], cfg: CurateConfig) -> list[str]:
    """Why this crop is not good enough to train on (empty list = passes)."""
    reasons = []
    if q["blur"] < cfg.min_blur:
        reasons.append("blurry")
    if q["brightness"] < cfg.min_brightness:
        reasons.append("too_dark")
    if q["brightness"] > cfg.max_brightness:
        reasons.append("too_bright")
    if q["contrast"] < cfg.min_contrast:
        reasons.append("low_contrast")
    if q["entropy"] < (min(cfg.min_entropy, ANIME_MIN_ENTROPY)
                       if detector_subject(cfg.detector) == "drawn" else cfg.min_entropy):
        reasons.append("low_entropy")
    if q["colour"] < 2.0:
        reasons.append("grayscale")
    return reasons


def quality_rank(q: dict[str, float]) -> float:
    """One number to pick the best of a duplicate group (sharper and more contrast = better)."""
    return float(np.log1p(q["blur"]) + q["contrast"] / 32 + q["entropy"] / 4)
