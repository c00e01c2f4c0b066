"""Rule-based pollution signals of a crop: a cat face in it, a second detector that disagrees,
a mask, and for detectors of drawn faces a real human face, a photograph, a face blurred for its
picture. Which rules apply depends on what the detector detects (`RULES_FOR`): a rule that judges
a crop by whether it looks like a drawing would reject every crop of a detector of photographs.

They give the pollution probability of crops nobody has labelled yet, before (and besides) the
learned filter in `curation.filter_model`.
"""

from __future__ import annotations

import cv2
import numpy as np

from curation import photo_signals
from curation.detectors import Detector, Face, cascade_detector, detector_subject, haar_path

CAT_CASCADES = ("haarcascade_frontalcatface.xml", "haarcascade_frontalcatface_extended.xml")
# Prior probabilities that a crop is polluted given each signal (from the labelled mixed set
# in bench/curation_quality.py); they combine as independent evidence.
P_BASE = 0.05
P_CAT = 0.4  # the cat cascades also fire on some human faces: a cat alone does not reject
P_DISAGREE = 0.6
P_OCCLUDED = 0.6
# Anime detector only (bench/curation_quality.py, anime set): Haar alt2 at 12 neighbours finds a
# human face in 8 of 9 photos of people the anime cascade fired on and in 0 of 182 anime crops
# (at 5 neighbours: 8 of 182; the default cascade at 12: 5 of 182).
P_HUMAN_FACE = 0.7
P_PHOTO = 0.6
P_BLURRED = 0.6
SIGNALS = ("cat", "disagree", "occluded", "human_face", "photo", "blurred")
SIGNAL_PRIORS = (P_CAT, P_DISAGREE, P_OCCLUDED, P_HUMAN_FACE, P_PHOTO, P_BLURRED)
# The rules that make sense for each kind of detector (`curation.detectors.SUBJECTS`); a rule not
# listed never fires on its crops. `human_face`, `photo` and `blurred` say "not a drawing"; `cat`
# and `occluded` say "not an unmasked person's or character's face"; `disagree` (the detector
# itself, or a second one, misses the face in the crop) holds for any detector.
RULES_FOR = {
    "drawn": SIGNALS,
    "photo": ("cat", "disagree", "occluded"),
    "other": ("disagree",),
}


class PollutionChecker:
    """Holds the extra cascades (loaded once per worker process)."""

    def __init__(self, detector_name: str, primary: Detector):
        self.rules = frozenset(RULES_FOR[detector_subject(detector_name)])
        # Unequalised, as OpenCV's cat cascades were trained; each alone fires on many human
        # faces, so a cat is only called when both agree on the same face.
        self.cats = [cascade_detector(haar_path(name), min_neighbors=n, equalize=False)
                     for name, n in zip(CAT_CASCADES, (4, 3), strict=True)] if "cat" in self.rules else []
        # Human faces are confirmed by a differently trained Haar cascade; anime faces (and a
        # plug-in's) by the same detector on the crop alone (the other cascades never fire on drawings).
        self.confirm = (cascade_detector(haar_path("haarcascade_frontalface_alt2.xml"), 3)
                        if detector_name == "human" else primary)
        # A real face inside a crop of drawn faces: pollution there, the aim elsewhere.
        self.human = (cascade_detector(haar_path("haarcascade_frontalface_alt2.xml"), 12)
                      if "human_face" in self.rules else None)

    def cat_boxes(self, rgb: np.ndarray) -> list[list[Face]]:
        """Cat faces in the whole source image, per cat cascade (context helps them)."""
        return [d(rgb) for d in self.cats]

    def signals(self, crop: np.ndarray, face: Face, cats: list[list[Face]],
                source: np.ndarray | None = None, margin: float = 1.5) -> dict:
        """`cat`: both cat cascades found this face; `disagree`: the confirming detector misses;
        `human_face`: a human face cascade finds one; `photo`: the face region has the
        statistics of a photograph; `blurred`: the face is much softer than its source picture's
        sharp parts (`blur_ratio`, log; needs `source`). A rule not in `self.rules` is False."""
        side = crop.shape[0]
        bordered = _bordered(crop)
        stats = photo_signals.photo_statistics(crop)
        ratio = (photo_signals.blur_log_ratio(crop, photo_signals.source_sharpness(
            source, max(face.w, face.h), side, margin)) if source is not None else 0.0)
        human = self.human is not None and _covers_centre(self.human(bordered), side, 0.35,
                                                          offset=side // 4)
        rules = self.rules
        return {
            "cat": "cat" in rules and all(any(_iou(face, c) > 0.2 for c in boxes) for boxes in cats),
            "disagree": not _covers_centre(self.confirm(bordered), side, 0.4, offset=side // 4),
            "occluded": "occluded" in rules and occluded(crop),
            "human_face": bool(human),
            "photo": "photo" in rules and photo_signals.looks_like_photo(stats),
            # Drawn faces only: photographed faces are often small photos upscaled (soft).
            "blurred": "blurred" in rules and ratio < photo_signals.BLUR_LOG_RATIO,
            "blur_ratio": round(ratio, 4),
        }


def rule_probability(signals: dict[str, bool]) -> float:
    """Pollution probability from the rule signals alone."""
    keep = 1 - P_BASE
    for name, p in zip(SIGNALS, SIGNAL_PRIORS, strict=True):
        if signals.get(name):
            keep *= 1 - p
    return round(1 - keep, 4)


def occluded(crop: np.ndarray, ratio: float = 0.35) -> bool:
    """A mask or hand over the mouth: the lower face is flat while the eyes have texture.

    With the crop margin the face fills the middle 1/margin of the crop; compare the grey-level
    spread of the band across the eyes with the band across mouth and chin.
    """
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
    s = crop.shape[0]
    cols = slice(int(0.35 * s), int(0.65 * s))
    eyes = gray[int(0.32 * s):int(0.45 * s), cols]
    mouth = gray[int(0.58 * s):int(0.72 * s), cols]
    return bool(mouth.std() < ratio * max(eyes.std(), 1.0))


def _bordered(crop: np.ndarray) -> np.ndarray:
    # Cascades need context around a tight face before they find it again (detectors/README).
    b = crop.shape[0] // 4
    return cv2.copyMakeBorder(crop, b, b, b, b, cv2.BORDER_REPLICATE)


def _covers_centre(faces, size: int, min_frac: float, offset: int = 0) -> bool:
    """Whether some box contains the crop centre and is at least `min_frac` of the crop side."""
    c = size / 2 + offset
    return any(f.x <= c <= f.x + f.w and f.y <= c <= f.y + f.h and f.w >= min_frac * size
               for f in faces)


def _iou(a: Face, b: Face) -> float:
    ix = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    return inter / float(a.w * a.h + b.w * b.h - inter) if inter else 0.0
