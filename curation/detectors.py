"""Face detectors: a registry of functions image → boxes with scores.

Built in: `anime` (nagadomi's LBP anime-face cascade, shipped in curation/data/ with its MIT
licence) and `human` (OpenCV's bundled Haar frontal face). A plug-in is any callable
`(rgb) -> list[Face]` registered with `register_detector`, or named as "module:factory" in the config.

Each detector says what it detects (`SUBJECTS`): the pollution rules and the quality floor that
only make sense for one kind of face apply only to crops of a detector of that kind
(`curation.pollution.RULES_FOR`). A plug-in declares it as `factory.detects = "drawn"` (or
`register_detector(name, factory, detects=...)`); one that declares nothing is "other".
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from curation.errors import CurationError

ANIME_CASCADE_NAME = "lbpcascade_animeface.xml"
# Shipped unchanged from https://github.com/nagadomi/lbpcascade_animeface (commit 4433ab1);
# the licence notice is in the XML and in data/LICENSE-lbpcascade_animeface.txt.
PACKAGED_ANIME_CASCADE = Path(__file__).resolve().parent / "data" / ANIME_CASCADE_NAME
ANIME_CASCADE_SHA256 = "9376d30ac38db6bda2a68b88b3b76bbd7e6aa33af47f7f5c76bc88ca75f1ce30"
MIN_FACE = 24  # smallest face the cascades look for; smaller ones are noise at crop size


@dataclass(frozen=True)
class Face:
    """A detected face: box in source pixels and the detector's confidence (higher = surer)."""

    x: int
    y: int
    w: int
    h: int
    score: float


Detector = Callable[[np.ndarray], list[Face]]
DetectorFactory = Callable[..., Detector]
# What a detector finds: drawn faces (anime, manga, illustrations), photographed human faces, or
# anything else (animals, a detector of unknown kind: only the rules that hold for any face).
SUBJECTS = ("drawn", "photo", "other")
_REGISTRY: dict[str, tuple[DetectorFactory, str]] = {}


def register_detector(name: str, factory: DetectorFactory, detects: str | None = None) -> None:
    """Make `factory(cascade=...)` available as `--detector NAME` (the plug-in point); `detects`
    (one of SUBJECTS; default the factory's own `detects` attribute, else "other")."""
    _REGISTRY[name] = (factory, _subject(name, detects or getattr(factory, "detects", "other")))


def _subject(name: str, detects) -> str:
    if detects not in SUBJECTS:
        raise CurationError(f"detector {name!r} declares detects = {detects!r}; it must be one of "
                            f"{', '.join(SUBJECTS)}")
    return detects


def cache_dir() -> Path:
    """Where a user may put detector files that override the shipped ones
    (GAN_STUDIO_CACHE_DIR overrides the platform's cache dir, e.g. in tests)."""
    override = os.environ.get("GAN_STUDIO_CACHE_DIR")
    if override:
        return Path(override) / "detectors"
    import platformdirs

    return Path(platformdirs.user_cache_dir("gan-studio")) / "detectors"


def resolve_anime_cascade(cascade: str | Path | None = None) -> Path:
    """The anime cascade file: the given path, else a copy in the cache dir (a user's override),
    else the one shipped in the package, checked against its SHA-256."""
    if cascade:
        path = Path(cascade).expanduser()
        if not path.is_file():
            raise CurationError(f"cascade file not found: {path}")
        return path
    override = cache_dir() / ANIME_CASCADE_NAME
    if override.is_file():
        return override
    return packaged_anime_cascade()


def packaged_anime_cascade() -> Path:
    """The cascade shipped in curation/data/; a missing or altered copy (a broken install) is
    one clear line rather than a detector that silently finds other faces."""
    path = PACKAGED_ANIME_CASCADE
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise CurationError(f"the anime cascade shipped with GAN Studio is missing ({path}: "
                            f"{exc.strerror or exc}); reinstall, or pass --cascade PATH") from None
    if digest != ANIME_CASCADE_SHA256:
        raise CurationError(f"the anime cascade shipped with GAN Studio is damaged ({path} has "
                            f"SHA-256 {digest}, expected {ANIME_CASCADE_SHA256}); reinstall, "
                            "or pass --cascade PATH")
    return path


def cascade_detector(path: Path | str, min_neighbors: int = 5, equalize: bool = True) -> Detector:
    """A detector from an OpenCV cascade; the score is detectMultiScale3's level weight."""
    try:
        classifier = cv2.CascadeClassifier(str(path))
    except (cv2.error, SystemError):  # malformed XML raises inside OpenCV's constructor
        classifier = None
    if classifier is None or classifier.empty():
        raise CurationError(f"cannot load cascade {path} (not an OpenCV cascade XML file?)")

    def detect(rgb: np.ndarray) -> list[Face]:
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        if equalize:
            gray = cv2.equalizeHist(gray)
        boxes, _levels, weights = classifier.detectMultiScale3(
            gray, scaleFactor=1.1, minNeighbors=min_neighbors, minSize=(MIN_FACE, MIN_FACE),
            outputRejectLevels=True,
        )
        return [Face(int(x), int(y), int(w), int(h), float(s))
                for (x, y, w, h), s in zip(boxes, np.ravel(weights), strict=True)]

    return detect


def haar_path(name: str) -> Path:
    """A cascade that ships inside the opencv-python wheel (cv2.data)."""
    return Path(cv2.data.haarcascades) / name


def anime_detector(cascade: str | Path | None = None) -> Detector:
    return cascade_detector(resolve_anime_cascade(cascade))


def human_detector(cascade: str | Path | None = None) -> Detector:
    return cascade_detector(cascade or haar_path("haarcascade_frontalface_default.xml"))


register_detector("anime", anime_detector, detects="drawn")
register_detector("human", human_detector, detects="photo")


def detector_forms() -> str:
    """What `--detector` accepts, for the errors that refuse a name."""
    return (f"--detector takes {', '.join(sorted(_REGISTRY))}, or module:factory for a plug-in: "
            "a function factory(cascade=None) that returns a detector (rgb) -> list[Face]")


def _factory(name: str) -> tuple[DetectorFactory, str]:
    """The factory called `name` (registered, or "module:factory" for a plug-in) and what it detects."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError, ValueError) as exc:  # ValueError: an empty module name
            raise CurationError(f"cannot load detector plug-in {name!r}: {exc}") from None
        if not _takes_cascade(factory):  # e.g. os:system, which would be called as os.system(cascade=None)
            raise CurationError(f"{name!r} is not a detector factory (it cannot be called as "
                                f"factory(cascade=None)); {detector_forms()}")
        return factory, _subject(name, getattr(factory, "detects", "other"))
    raise CurationError(f"unknown detector {name!r}; {detector_forms()}")


def _takes_cascade(factory: object) -> bool:
    """`factory` can be called as factory(cascade=None), judged by its signature alone."""
    if not callable(factory):
        return False
    try:
        inspect.signature(factory).bind(cascade=None)
    except (TypeError, ValueError):  # ValueError: no signature to read (some builtins)
        return False
    return True


def detector_subject(name: str) -> str:
    """What the detector called `name` detects: "drawn", "photo" or "other" (SUBJECTS)."""
    return _factory(name)[1]


def get_detector(name: str, cascade: str | Path | None = None) -> Detector:
    """Build the detector called `name` (registered, or "module:factory" for a plug-in)."""
    detector = _factory(name)[0](cascade=cascade or None)
    if not callable(detector):
        raise CurationError(f"detector {name!r} returned {type(detector).__name__}, not a detector; "
                            f"{detector_forms()}")
    return detector
