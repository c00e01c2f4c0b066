"""Work on one raw image (runs in a worker process): decode, detect, crop, store, score."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2

from crawler.store import write_atomic
from curation.config import CurateConfig
from curation.crop import crop_face
from curation.detectors import get_detector
from curation.features import embedding, filter_features, perceptual_hashes, to_signed
from curation.files import ImageDecodeError, load_rgb
from curation.pollution import PollutionChecker, rule_probability
from curation.quality import quality_failures, quality_rank, quality_scores


@dataclass
class SourceResult:
    sha256: str
    status: str  # ok, no_face, corrupt, missing, error
    error: str = ""
    faces: int = 0  # faces the detector found
    small_faces: int = 0  # of those, dropped: would need more than max_upscale
    crops: list[dict] = field(default_factory=list)  # crop records (catalog fields)


_state: dict = {}


def init_worker(cfg: dict, faces_dir: str) -> None:
    """Build the detectors once per process (cascades are slow to load, not picklable)."""
    cv2.setNumThreads(1)  # one process per core already
    config = CurateConfig(**cfg)
    detector = get_detector(config.detector, config.cascade or None)
    _state.update(cfg=config, faces_dir=Path(faces_dir), detector=detector,
                  checker=PollutionChecker(config.detector, detector))


def process_source(sha256: str, path: str) -> SourceResult:
    """Never raises for a bad image: a corrupt or missing file is a result like any other."""
    try:
        rgb = load_rgb(Path(path))
    except ImageDecodeError as exc:
        status = "missing" if not Path(path).is_file() else "corrupt"
        return SourceResult(sha256, status, str(exc))
    try:
        return _crop_all(sha256, rgb)
    except Exception as exc:  # one odd image (e.g. a 1-pixel-tall strip) must not stop the run
        return SourceResult(sha256, "error", f"{type(exc).__name__}: {exc}")


def _crop_all(sha256: str, rgb) -> SourceResult:
    cfg: CurateConfig = _state["cfg"]
    faces = _state["detector"](rgb)
    result = SourceResult(sha256, "ok" if faces else "no_face", faces=len(faces))
    cats = _state["checker"].cat_boxes(rgb) if faces else []
    # Whole-image hashes link crops of re-encoded / mirrored copies whose boxes shifted.
    source = perceptual_hashes(rgb) if faces else {}
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
        signals = _state["checker"].signals(crop.pixels, face, cats)
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
