"""Rule-based pollution signals of a crop: a cat face in it, a second detector that disagrees.

They give the pollution probability of crops nobody has labelled yet, before (and besides) the
learned filter in `curation.filter_model`.
"""

from __future__ import annotations

import cv2
import numpy as np

from curation.detectors import Detector, cascade_detector, haar_path

CAT_CASCADES = ("haarcascade_frontalcatface.xml", "haarcascade_frontalcatface_extended.xml")
# Prior probabilities that a crop is polluted given each signal (from the labelled mixed set
# in bench/curation_quality.py); they combine as independent evidence.
P_BASE = 0.05
P_CAT = 0.9
P_DISAGREE = 0.6


class PollutionChecker:
    """Holds the extra cascades (loaded once per worker process)."""

    def __init__(self, detector_name: str, primary: Detector):
        self.cats = [cascade_detector(haar_path(name), min_neighbors=4) for name in CAT_CASCADES]
        # Human faces are confirmed by a differently trained Haar cascade; anime faces by the
        # same LBP cascade on the crop alone (the other cascades never fire on drawings).
        if detector_name == "human":
            self.confirm = cascade_detector(haar_path("haarcascade_frontalface_alt2.xml"), 3)
        else:
            self.confirm = primary

    def signals(self, crop: np.ndarray) -> dict[str, bool]:
        """`cat`: a cat face covers the crop centre; `disagree`: the confirming detector misses."""
        return {
            "cat": any(_covers_centre(d(crop), crop.shape[0], 0.25) for d in self.cats),
            "disagree": not _covers_centre(self.confirm(_bordered(crop)), crop.shape[0], 0.4,
                                           offset=crop.shape[0] // 4),
        }


def rule_probability(signals: dict[str, bool]) -> float:
    """Pollution probability from the rule signals alone."""
    keep = 1 - P_BASE
    if signals.get("cat"):
        keep *= 1 - P_CAT
    if signals.get("disagree"):
        keep *= 1 - P_DISAGREE
    return round(1 - keep, 4)


def _bordered(crop: np.ndarray) -> np.ndarray:
    # Cascades need context around a tight face before they find it again (detectors/README).
    b = crop.shape[0] // 4
    return cv2.copyMakeBorder(crop, b, b, b, b, cv2.BORDER_REPLICATE)


def _covers_centre(faces, size: int, min_frac: float, offset: int = 0) -> bool:
    """Whether some box contains the crop centre and is at least `min_frac` of the crop side."""
    c = size / 2 + offset
    return any(f.x <= c <= f.x + f.w and f.y <= c <= f.y + f.h and f.w >= min_frac * size
               for f in faces)
