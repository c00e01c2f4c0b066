"""Work on one raw image (runs in a worker process): decode, detect, crop, store, score.

Detection runs on a bounded working copy (at most DETECT_MAX_PIXELS, downscaled with INTER_AREA)
and its boxes are mapped back to source pixels; crops are cut from the full-resolution image.
OpenCV's cascades need about 150 bytes per pixel they scan, so a 64-megapixel photo scanned at
full size took 11.9 GB; at the working size a worker stays under 1.5 GB (docs/benchmarks.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from curation.config import CurateConfig
from curation.confined import Refused
from curation.crop import crop_face
from curation.detectors import Face, get_detector
from curation.errors import machine_failure
from curation.features import embedding, filter_features, perceptual_hashes, to_signed
from curation.files import ImageDecodeError, MissingFile, load_rgb, load_source
from curation.pollution import PollutionChecker, rule_probability
from curation.quality import quality_failures, quality_rank, quality_scores
from records import write_atomic


@dataclass
class SourceResult:
    sha256: str
    # ok, no_face, corrupt, missing, error; refused: a path out of raw/ or through a symbolic
    # link, or not a regular file; retry: the machine failed, not recorded
    status: str
    error: str = ""
    faces: int = 0  # faces the detector found
    small_faces: int = 0  # of those, dropped: would need more than max_upscale
    crops: list[dict] = field(default_factory=list)  # crop records (catalog fields)


_state: dict = {}
# What one analysis of a source computes. Bump it when a crop gains a field the filter reads:
# sources analysed by an older version are analysed again on the next curate (labels kept).
# 1: quality, hashes, embedding, cat / disagree / occluded; 2: + human_face, photo, blurred.
ANALYSIS = 2
DETECT_MAX_PIXELS = 4_000_000  # detection working size (2000x2000): faces there are >= 24 px anyway


def working_image(rgb: np.ndarray, max_pixels: int = DETECT_MAX_PIXELS) -> tuple[np.ndarray, float]:
    """`rgb` downscaled to at most `max_pixels` (itself if small enough) and the scale used."""
    h, w = rgb.shape[:2]
    if h * w <= max_pixels:
        return rgb, 1.0
    scale = (max_pixels / (h * w)) ** 0.5
    size = (max(1, int(w * scale)), max(1, int(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), size[0] / w


def to_source(face: Face, scale: float) -> Face:
    """A box found on the working copy, in source pixels."""
    if scale == 1.0:
        return face
    return Face(round(face.x / scale), round(face.y / scale), round(face.w / scale),
                round(face.h / scale), face.score)


def init_worker(cfg: dict, faces_dir: str) -> None:
    """Build the detectors once per process (cascades are slow to load, not picklable)."""
    cv2.setNumThreads(1)  # one process per core already
    config = CurateConfig(**cfg)
    detector = get_detector(config.detector, config.cascade or None)
    _state.update(cfg=config, faces_dir=Path(faces_dir), detector=detector,
                  checker=PollutionChecker(config.detector, detector))


def process_source(sha256: str, path: str, workspace: str | None = None) -> SourceResult:
    """Never raises for a bad image: a corrupt or missing file is a result like any other. A
    failure of the machine (a full or read-only disk, no memory) is `retry`, never the image's.
    With `workspace`, `path` is its manifest path: read inside raw/ only, checked against
    `sha256` (curation.files.load_source); without, a file named directly (benchmarks)."""
    try:
        try:
            rgb = load_source(Path(workspace), path, sha256) if workspace else load_rgb(Path(path))
        except Refused as exc:
            return SourceResult(sha256, "refused", str(exc))
        except ImageDecodeError as exc:
            return SourceResult(sha256, "missing" if isinstance(exc, MissingFile) else "corrupt", str(exc))
        return _crop_all(sha256, rgb)
    except Exception as exc:  # one odd image (e.g. a 1-pixel-tall strip) must not stop the run
        if why := machine_failure(exc, _state.get("faces_dir")):
            return SourceResult(sha256, "retry", why)
        return SourceResult(sha256, "error", f"{type(exc).__name__}: {exc}")


def _crop_all(sha256: str, rgb) -> SourceResult:
    cfg: CurateConfig = _state["cfg"]
    work, scale = working_image(rgb)
    faces = [to_source(f, scale) for f in _state["detector"](work)]
    result = SourceResult(sha256, "ok" if faces else "no_face", faces=len(faces))
    cats = [[to_source(c, scale) for c in boxes] for boxes in _state["checker"].cat_boxes(work)] \
        if faces else []
    # Whole-image hashes link crops of re-encoded / mirrored copies whose boxes shifted.
    source = perceptual_hashes(work) if faces else {}
    del work
    for index, face in enumerate(sorted(faces, key=lambda f: (f.y, f.x))):
        crop = crop_face(rgb, face, cfg.margin, cfg.crop_size, cfg.max_upscale)
        if crop is None:
            result.small_faces += 1
            continue
        ok, png = cv2.imencode(".png", cv2.cvtColor(crop.pixels, cv2.COLOR_RGB2BGR))
        if not ok:
            raise ValueError("PNG encoding failed")
        data = png.tobytes()
        crop_sha = hashlib.sha256(data).hexdigest()
        target = _state["faces_dir"] / crop_sha[:2] / f"{crop_sha}.png"
        if not target.exists():
            write_atomic(target, data)
        q = quality_scores(crop.pixels)
        signals = _state["checker"].signals(crop.pixels, face, cats, rgb, cfg.margin)
        hashes = {k: to_signed(v) for k, v in perceptual_hashes(crop.pixels).items()}
        result.crops.append({
            "key": f"{sha256}:{index}", "sha256": crop_sha, "filepath": str(target),
            "source_sha256": sha256, "bbox": [face.x, face.y, face.w, face.h],
            "crop_box": list(crop.crop_box), "detector": cfg.detector,
            "detector_score": face.score, "face_px": max(face.w, face.h),
            "upscale": round(crop.upscale, 4), **q, "quality": quality_rank(q),
            "quality_reasons": quality_failures(q, cfg), **signals,
            "rule_pollution": rule_probability(signals), **hashes,
            "embedding": embedding(crop.pixels), "features": filter_features(crop.pixels, q),
            "source_phash": to_signed(source["phash"]),
            "source_phash_flip": to_signed(source["phash_flip"]),
            "source_size": [int(rgb.shape[1]), int(rgb.shape[0])],
        })
    return result


def result_dict(result: SourceResult) -> dict:
    return asdict(result)
