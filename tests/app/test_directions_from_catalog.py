"""`studio directions --kind labels`: directions from catalog labels, saved, and listed by the app."""

from __future__ import annotations

import shutil

import pytest

from curation.catalog import open_catalog
from curation.rescoring import set_label
from tests.helpers import ONE_THREAD, studio, studio_in_process


@pytest.fixture
def labelled(curated_ws):
    """Three crops labelled accept and three reject (cleared afterwards, as the fixture made them)."""
    ds = open_catalog(curated_ws)
    shas = sorted(set(ds.values("sha256")))[:6]
    for i, sha in enumerate(shas):
        set_label(ds, sha, "accept" if i < 3 else "reject", "" if i < 3 else "not-a-face")
    yield curated_ws
    for sha in shas:
        set_label(ds, sha, None)


@pytest.mark.cli
def test_label_directions_from_the_catalog_reload_in_the_app(labelled, trained_ws, monkeypatch, tmp_path):
    from gan.latent import load_directions
    from tests.app.app_helpers import assert_clean, open_page

    model = trained_ws / "runs" / "00000-tiny-r32"
    out = tmp_path / "ws" / "directions" / "labels.json"
    shutil.copytree(trained_ws, tmp_path / "ws")
    r = studio("directions", "--kind", "labels", "--field", "human_label", "-w", str(labelled), "--run", str(model),
               "--out", str(out), "--per-value", "3", "--steps", "10", env=ONE_THREAD, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == f"wrote 2 labels directions (accept, reject) to {out}"
    dirs = load_directions(out, z_dim=16)
    assert dirs.names == ["accept", "reject"] and dirs.meta["counts"] == {"accept": 3, "reject": 3}
    assert dirs.meta["field"] == "human_label" and dirs.meta["kind"] == "labels"
    assert abs(float((dirs.directions[0] + dirs.directions[1]).norm())) < 1e-5  # two classes: opposite ways
    # the Generate page of a workspace holding the file offers it, with one slider per label
    at = open_page(monkeypatch, tmp_path / "ws", "generate.py")
    at.selectbox(key="gen-dirs-source").set_value(next(o for o in at.selectbox(key="gen-dirs-source").options
                                                      if o.startswith("labels.json"))).run()
    assert_clean(at)
    assert [s.label for s in at.slider if s.key and s.key.startswith("pc-")] == ["accept", "reject"]


def test_labels_need_labelled_crops(curated_ws, trained_ws, tmp_path):
    r = studio_in_process("directions", "--kind", "labels", "--field", "human_reason", "-w", str(curated_ws),
                          "--run", str(trained_ws / "runs" / "00000-tiny-r32"), "--out", str(tmp_path / "x.json"))
    assert r.returncode == 2 and r.stderr.strip() == "studio: error: no crops with a human_reason in the catalog"
