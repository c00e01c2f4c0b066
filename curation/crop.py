"""Square face crops: margin around the detected box, padding past the image border, resize."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from curation.detectors import Face


@dataclass(frozen=True)
class Crop:
    pixels: np.ndarray  # (crop_size, crop_size, 3) RGB uint8
    crop_box: tuple[int, int, int, int]  # [x, y, w, h] in source pixels, after margin (may leave the image)
    upscale: float  # crop_size / crop side: > 1 means the face was enlarged


def square_box(face: Face, margin: float) -> tuple[int, int, int, int]:
    """The square of side margin × (longer face side) centred on the face."""
    side = round(max(face.w, face.h) * margin)
    cx, cy = face.x + face.w / 2, face.y + face.h / 2
    return round(cx - side / 2), round(cy - side / 2), side, side


def crop_face(rgb: np.ndarray, face: Face, margin: float, crop_size: int,
              max_upscale: float) -> Crop | None:
    """Cut, pad and resize one face; None when it would need more than `max_upscale`."""
    x, y, side, _ = square_box(face, margin)
    upscale = crop_size / side
    if upscale > max_upscale + 1e-9:
        return None
    h, w = rgb.shape[:2]
    # Pad by replicating the edge so a face at the border still sits centred in its crop.
    top, left = max(0, -y), max(0, -x)
    bottom, right = max(0, y + side - h), max(0, x + side - w)
    window = rgb[max(0, y):min(h, y + side), max(0, x):min(w, x + side)]
    if top or left or bottom or right:
        window = cv2.copyMakeBorder(window, top, bottom, left, right, cv2.BORDER_REPLICATE)
    interp = cv2.INTER_AREA if upscale < 1 else cv2.INTER_CUBIC
    pixels = cv2.resize(window, (crop_size, crop_size), interpolation=interp)
    return Crop(pixels=np.ascontiguousarray(pixels), crop_box=(x, y, side, side), upscale=upscale)
