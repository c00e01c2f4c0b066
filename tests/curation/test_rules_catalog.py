"""On a real catalog: a source the photo rule misreads keeps its crops, the rule still rejects
where it is rare, `studio rules` says so, and switching it off for a source rescues its crops."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import studio_in_process

pytestmark = pytest.mark.slow  # ~15 s: in-process studio commands and rescoring on a real catalog


def _catalog(fiftyone_db, root):
    """cg.example: 60 crops, the photo rule fired on 40 (its shaded art); other.example: 60
    crops, photo and human_face fired on 2 (real photos of people)."""
    from curation.catalog import open_catalog

    ds = open_catalog(root)
    samples = []
    for k in range(120):
        cg = k < 60
        fired = k < 40 if cg else k in (60, 61)
        samples.append(fiftyone_db.Sample(
            filepath=str(root / "faces" / f"{k:02d}.png"), sha256=f"{k:064x}", key=f"s{k}:0",
            domain="cg.example" if cg else "other.example", quality_reasons=[], face_px=100,
            quality=0.5, photo=fired, human_face=fired and not cg, cat=False, disagree=False,
            occluded=False, blurred=False))
    ds.add_samples(samples, progress=False)
    return ds


def _decide(ds):
    from curation.config import CurateConfig
    from curation.decide import refresh_decisions
    from curation.scoring import update_atypicality, update_pollution

    update_atypicality(ds)
    update_pollution(ds, CurateConfig())
    return refresh_decisions(ds, CurateConfig())


def test_a_rule_cannot_veto_a_style_and_can_be_switched_off_per_source(fiftyone_db, tmp_path):
    root = tmp_path / "ws"
    assert studio_in_process("init", "--workspace", root).returncode == 0
    ds = _catalog(fiftyone_db, root)
    _decide(ds)
    decision, reasons = (np.array(v, dtype=object) for v in ds.values(["decision", "reasons"]))
    assert (decision[:60] == "accepted").all()  # 40 of 60 fired: the style is kept
    assert decision[60] == decision[61] == "rejected" and reasons[60][0].startswith("polluted:")
    assert (decision[62:] == "accepted").all()

    listed = studio_in_process("rules", "--workspace", root)
    assert listed.returncode == 0, listed.stderr
    first = listed.stdout.splitlines()[0]
    assert first.startswith("photo fired on 40 of 60 crops from cg.example") and "weighed down" in first

    off = studio_in_process("rules", "off", "human_face", "--domain", "other.example", "--workspace", root)
    assert off.returncode == 0, off.stderr
    assert "human_face is off for other.example" in off.stdout
    off = studio_in_process("rules", "off", "photo", "--domain", "other.example", "--workspace", root)
    ds.reload()
    assert ds.values("decision")[60] == "accepted"  # nothing left that says "polluted"
    assert "photo is off for other.example" in studio_in_process("rules", "--workspace", root).stdout
    back = studio_in_process("rules", "on", "photo", "--domain", "other.example", "--workspace", root)
    assert back.returncode == 0
    bad = studio_in_process("rules", "off", "nosuchrule", "--workspace", root)
    assert bad.returncode == 2 and "no rule 'nosuchrule'" in bad.stderr
