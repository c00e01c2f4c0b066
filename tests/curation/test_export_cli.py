"""`studio export` by hand (issue 21, items 9 and 11): it writes lineage.json as the pipeline's
exports do, and an empty catalog is a one-line error that makes no empty version."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.fixtures import face_scenes as fs
from tests.helpers import studio, studio_in_process

CRAWL = "20250101T000000Z"
SOURCE = "https://faces.example/gallery/"


@pytest.mark.slow
@pytest.mark.cli
def test_a_manual_export_records_its_lineage(fiftyone_db, tmp_path):
    ws = tmp_path / "ws"
    assert studio_in_process("init", "-w", str(ws)).returncode == 0
    (ws / "studio.toml").write_text('[curate]\ndetector = "human"\n')
    rng = np.random.default_rng(7)
    fs.write_raw(ws, [fs.scene_item(fs.face_scene(f"s{i}", i, rng, size=120)) for i in range(4)])
    (ws / "crawl" / CRAWL).mkdir(parents=True)  # the crawl those images came from
    (ws / "crawl" / CRAWL / "stats.json").write_text(json.dumps(
        {"started_at": "2025-01-01T00:00:00Z", "start_urls": [SOURCE], "pages": 2, "stored": 4}))
    studio("curate", "-w", str(ws), "--no-progress", check=True)
    status = json.loads(studio("status", "-w", str(ws), "--json", check=True).stdout)
    assert status["funnel"]["accepted"] >= 1

    out = studio("export", "-w", str(ws), check=True)
    assert "exported" in out.stdout
    lineage = json.loads((ws / "exports" / "v0001" / "lineage.json").read_text())
    assert lineage["export"] == "v0001" and lineage["made_by"] == "studio export"
    assert lineage["crawls"] == [CRAWL] and lineage["sources"] == [SOURCE]
    assert lineage["label_state"]["labels"] == 0


def test_exporting_an_empty_catalog_is_one_line_and_makes_no_version(fiftyone_db, tmp_path):
    ws = tmp_path / "ws"
    assert studio_in_process("init", "-w", str(ws)).returncode == 0
    proc = studio_in_process("export", "-w", str(ws))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("studio: error: nothing to export: the catalog has "
                                                   "no accepted crops"), proc.stderr
    assert not list((ws / "exports").glob("v*")) and not list((ws / "exports").glob(".v*"))
