"""Copies versus other expressions of one picture: `curation.dedup.face_difference` at the face
the anime cascade finds, between a picture and (a) its copies (JPEG q60, resized to 70 %,
mirrored) and (b) the other expressions of the same sprite.

Tuning set (chooses `curation.dedup.EXPRESSION_DIFFERENCE`): Ren'Py's Sylvie, 4 expressions in
2 outfits. Reported on, never chosen on: shared/art/lilynovelplayer's busts (8 expressions of
one girl, 8 of one boy). Run: .venv/bin/python bench/expressions.py
"""

from __future__ import annotations

import io
import itertools
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(HERE)]

from curation.dedup import EXPRESSION_DIFFERENCE, face_difference  # noqa: E402
from curation.detectors import get_detector  # noqa: E402
from tests.fixtures import anime_scenes as an  # noqa: E402

ART = HERE.parent / "shared" / "art" / "lilynovelplayer" / "gallery"


def copies(rgb: np.ndarray) -> list[tuple[np.ndarray, bool]]:
    """(picture, mirrored): re-encoded at JPEG q60, resized to 70 %, mirrored."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=60)
    small = cv2.resize(rgb, None, fx=0.7, fy=0.7, interpolation=cv2.INTER_AREA)
    return [(np.asarray(Image.open(buf).convert("RGB")), False), (small, False), (rgb[:, ::-1].copy(), True)]


def measure(detect, groups: dict[str, list[np.ndarray]]) -> tuple[list[float], list[float]]:
    """(differences of copy pairs, differences of expression pairs), at the detected face."""
    copy_d, variant_d = [], []
    for pictures in groups.values():
        found = [(p, max(detect(p), key=lambda f: f.w, default=None)) for p in pictures]
        found = [(p, (f.x, f.y, f.w, f.h)) for p, f in found if f is not None]
        copy_d += [face_difference(p, box, c) for p, box in found for c, _ in copies(p)]
        variant_d += [face_difference(p, box, q) for (p, box), (q, _) in itertools.combinations(found, 2)]
    return copy_d, variant_d


def summary(name: str, copy_d: list[float], variant_d: list[float]) -> None:
    t = EXPRESSION_DIFFERENCE
    print(f"{name}: copies {len(copy_d)} pairs, {min(copy_d):.1f}–{max(copy_d):.1f} "
          f"(linked at <= {t}: {sum(d <= t for d in copy_d)}/{len(copy_d)}); expressions "
          f"{len(variant_d)} pairs, {min(variant_d):.1f}–{max(variant_d):.1f} "
          f"(kept apart: {sum(d > t for d in variant_d)}/{len(variant_d)})")


def main() -> None:
    detect = get_detector("anime")
    sprites = an.renpy_sprites()
    tuning: dict[str, list[np.ndarray]] = {}
    for name, rgba in sprites.items():
        if name.startswith("sylvie"):
            white = an.composite(np.full((*rgba.shape[:2], 3), 255, np.uint8), rgba, 0, 0)
            tuning.setdefault(" ".join(name.split()[:2]), []).append(white)
    summary("tuning, Ren'Py Sylvie", *measure(detect, tuning))
    held = {who: [np.asarray(Image.open(p).convert("RGB")) for p in sorted(ART.glob(f"{who}_0*_g.png"))]
            for who in ("girl", "boy")}
    summary("held out, lilynovelplayer busts", *measure(detect, held))


if __name__ == "__main__":
    main()
