"""A plug-in detector gets the pollution rules that make sense for what it declares it detects
(issue 22, item 10): the anime-only rules (`human_face`, `photo`, `blurred`) judge a crop by
whether it looks like a drawing, so a plug-in that finds photographed faces must not get them —
all 53 crops of one were rejected as `human_face`/`photo`. Real curates, real worker processes."""

from __future__ import annotations

import numpy as np
import pytest

from curation.catalog import open_catalog
from curation.config import CurateConfig
from curation.errors import CurationError
from curation.run import curate
from tests.fixtures import face_scenes as fs

UNDECLARED = "tests.curation.killer_detector:factory"  # detects like `human`, declares nothing
DRAWN = "tests.curation.plugin_detectors:drawn"  # the same, declaring drawn faces
ANIME_ONLY = ("human_face", "photo", "blurred")


def _photo_workspace(root, detector: str):
    """Photographed faces: ten lfw faces planted in scenes and the astronaut."""
    root.mkdir()
    (root / "studio.toml").write_text(f"[curate]\ndetector = \"{detector}\"\n")
    rng = np.random.default_rng(11)
    scenes = [fs.face_scene(f"p{i}", i, rng, size=130) for i in range(10)] + [fs.astronaut_scene()]
    fs.write_raw(root, [fs.scene_item(s) for s in scenes])


def _curated(root, detector: str):
    _photo_workspace(root, detector)
    report = curate(root, CurateConfig(detector=detector, workers=2), progress=False)
    ds = open_catalog(root)
    return report, ds.values(["decision", "reasons", *ANIME_ONLY])


@pytest.mark.slow
def test_a_plugin_that_declares_nothing_gets_no_anime_rules_on_photos(fiftyone_db, tmp_path):
    report, (decisions, reasons, *fired) = _curated(tmp_path / "ws", UNDECLARED)
    assert report.crops >= 8, report
    for name, column in zip(ANIME_ONLY, fired, strict=True):
        assert not any(column), f"{name} fired on a plug-in's crops"
    assert not any(r.startswith(("polluted:human_face", "polluted:photo", "polluted:blurred"))
                   for rs in reasons for r in (rs or []))
    assert decisions.count("accepted") >= report.crops // 2, list(zip(decisions, reasons, strict=True))


@pytest.mark.slow
def test_a_plugin_that_declares_drawn_faces_gets_the_anime_rules(fiftyone_db, tmp_path):
    # The same photos found by a plug-in that says it looks for drawn faces: to it they are
    # pollution, and the anime rules say so (the declaration is what switches them on).
    report, (decisions, reasons, human, photo, _blurred) = _curated(tmp_path / "ws", DRAWN)
    assert report.crops >= 8, report
    assert sum(human) + sum(photo) >= report.crops // 2, (human, photo)
    assert decisions.count("rejected") >= report.crops // 2, list(zip(decisions, reasons, strict=True))


def test_an_unknown_declaration_is_one_clear_error():
    from curation.detectors import get_detector

    with pytest.raises(CurationError, match=r"detects = 'faces'.*drawn, photo, other"):
        get_detector("tests.curation.plugin_detectors:confused")
