"""The readers curation.export publishes for its folders (no database needed)."""

from __future__ import annotations

import json

from curation.export import export_of_data, export_shas, list_exports, read_export_stats


def _export(exports, name, shas=("a" * 64,)):
    folder = exports / name
    (folder / "images").mkdir(parents=True)
    (folder / "manifest.jsonl").write_text("".join(json.dumps({"sha256": s}) + "\n" for s in shas))
    (folder / "stats.json").write_text(json.dumps({"images": len(shas)}))
    return folder


def test_exports_are_listed_by_number_without_partial_or_foreign_folders(tmp_path):
    exports = tmp_path / "exports"
    assert list_exports(exports) == []
    for name in ("v0010", "v0002", "v0001"):
        _export(exports, name)
    (exports / ".v0011.partial" / "images").mkdir(parents=True)  # being built
    (exports / "notes").mkdir()
    (exports / "v0003.txt").write_text("")
    assert [p.name for p in list_exports(exports)] == ["v0001", "v0002", "v0010"]  # 10 after 2


def test_a_run_finds_its_export_after_the_workspace_moved(tmp_path):
    old, new = tmp_path / "old" / "exports", tmp_path / "new" / "exports"
    export = _export(new, "v0001", shas=("a" * 64, "b" * 64))
    assert export_of_data(new, old / "v0001" / "images") == export  # recorded before the move
    assert export_of_data(new, old / "v0001") == export  # the pipeline trains on the folder itself
    assert export_of_data(new, tmp_path / "elsewhere" / "v0001") is None  # not an exports/ folder
    assert export_of_data(new, old / "v0002" / "images") is None  # not in this workspace
    assert export_of_data(new, tmp_path / "my-pictures") is None  # trained on a plain folder
    assert export_of_data(new, None) is None
    assert export_shas(export) == {"a" * 64, "b" * 64} and read_export_stats(export) == {"images": 2}
    (export / "stats.json").write_text("{torn")
    assert read_export_stats(export) is None
