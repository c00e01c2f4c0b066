"""Catalog identity on a shared (external) database: datasets named by workspace id, a catalog
from before ids migrated on first open, a copied workspace given a catalog of its own."""

from __future__ import annotations

import json
import shutil

import pytest


def _sample(fo, file, **fields):
    return fo.Sample(filepath=str(file), **fields)


def test_workspaces_on_one_database_never_share_a_dataset(fiftyone_db, tmp_path):
    from curation.catalog import dataset_name, open_catalog

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    assert dataset_name(a) != dataset_name(b)
    open_catalog(a).add_sample(_sample(fiftyone_db, a / "faces" / "x.png", sha256="x"))
    assert len(open_catalog(b)) == 0
    assert open_catalog(a).name == f"studio-{json.loads((a / 'workspace.json').read_text())['id']}"


def test_a_catalog_from_before_workspace_ids_is_migrated_with_its_labels(fiftyone_db, tmp_path,
                                                                          capfd):
    from curation.catalog import CROP_FIELDS, open_catalog
    from curation.catalog.identity import legacy_name
    from curation.catalog.schema import declare

    ws = tmp_path / "old-ws"
    ws.mkdir()
    old = fiftyone_db.Dataset(legacy_name(ws), persistent=True)
    old.info["workspace"] = str(ws)
    old.save()
    declare(old, CROP_FIELDS)
    old.add_sample(_sample(fiftyone_db, ws / "faces" / "ab" / "c.png", sha256="c",
                           human_label="reject"))
    fiftyone_db.Dataset(legacy_name(ws) + "-sources", persistent=True)

    ds = open_catalog(ws)
    assert ds.name != legacy_name(ws) and not fiftyone_db.dataset_exists(legacy_name(ws))
    assert ds.values("human_label") == ["reject"]
    assert "now goes by workspace id" in capfd.readouterr().err
    # Moved afterwards: the path recorded relative to the workspace follows the folder.
    moved = tmp_path / "moved"
    ws.rename(moved)
    from curation.catalog import connect

    connect._cache.clear()
    again = open_catalog(moved)
    assert again.name == ds.name
    assert again.values("filepath") == [str(moved / "faces" / "ab" / "c.png")]
    assert again.values("path") == ["faces/ab/c.png"]


def test_a_copied_workspace_on_a_shared_database_gets_its_own_catalog(fiftyone_db, tmp_path,
                                                                       capfd):
    from curation.catalog import connect, open_catalog, set_label

    ws = tmp_path / "ws"
    ws.mkdir()
    original = open_catalog(ws)
    original.add_sample(_sample(fiftyone_db, ws / "faces" / "a.png", sha256="a", path="faces/a.png"))
    copy = tmp_path / "copy"
    shutil.copytree(ws, copy)
    connect._cache.clear()
    copied = open_catalog(copy)
    assert copied.name != original.name and "has its own catalog now" in capfd.readouterr().err
    assert copied.values("filepath") == [str(copy / "faces" / "a.png")]
    set_label(copied, "a", "reject")
    connect._cache.clear()
    assert open_catalog(ws).values("human_label") == [None]
    assert open_catalog(ws).values("filepath") == [str(ws / "faces" / "a.png")]


def test_a_damaged_workspace_id_is_one_clear_error(fiftyone_db, tmp_path):
    from curation.catalog import open_catalog
    from curation.errors import CurationError

    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "workspace.json").write_text("{not json")
    with pytest.raises(CurationError, match=r"workspace\.json is damaged"):
        open_catalog(ws)


@pytest.mark.cli
@pytest.mark.parametrize("wid", ["a" * 5000, "ｗｓ１２"])  # far too long; not ASCII letters and digits
def test_an_absurd_workspace_id_is_one_clear_error(fiftyone_db, tmp_path, wid):
    """A received workspace.json whose id would name the catalog's dataset: refused in one line."""
    from tests.helpers import studio

    ws = tmp_path / "ws"
    studio("init", "-w", ws, check=True)
    (ws / "workspace.json").write_text(json.dumps({"id": wid, "created_at": "2026-01-01T00:00:00+00:00"}))
    r = studio("rules", "-w", ws, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-3000:]
    (line,) = r.stderr.strip().splitlines()
    assert "workspace.json holds an invalid workspace id" in line and len(line) < 400, line
