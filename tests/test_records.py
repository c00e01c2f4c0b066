"""The ground floor's records: atomic writes, torn JSONL lines, JSON records that may be absent,
and the readers the owners of two workspace formats publish (crawl stats, the promoted model)."""

from __future__ import annotations

import json

import pytest

from crawler.manifest import read_manifest, sources_by_sha
from crawler.report import list_crawls
from crawler.stats import CrawlStats
from records import append_jsonl, iter_jsonl, read_json, write_atomic, write_atomic_json
from studio.errors import UserError
from studio.models import current, promote
from studio.workspace import Workspace


def test_atomic_write_leaves_no_temp_files(tmp_path):
    target = tmp_path / "a" / "b.bin"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["b.bin"]


def test_iter_jsonl_skips_a_torn_last_line(tmp_path):
    path = tmp_path / "m.jsonl"
    append_jsonl(path, {"a": 1})
    append_jsonl(path, {"a": 2})
    with open(path, "a") as f:
        f.write('{"a": 3')  # a writer killed mid-line
    assert [r["a"] for r in iter_jsonl(path)] == [1, 2]
    assert list(iter_jsonl(tmp_path / "missing.jsonl")) == []


def test_read_json_is_none_for_a_missing_damaged_or_non_object_file(tmp_path):
    write_atomic_json(tmp_path / "ok.json", {"b": 1, "a": [2]})
    assert read_json(tmp_path / "ok.json") == {"a": [2], "b": 1}
    assert (tmp_path / "ok.json").read_text() == '{\n  "a": [\n    2\n  ],\n  "b": 1\n}\n'
    (tmp_path / "torn.json").write_text('{"a": ')
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "folder.json").mkdir()
    for name in ("missing.json", "torn.json", "list.json", "folder.json"):
        assert read_json(tmp_path / name) is None, name


def test_list_crawls_oldest_first_a_damaged_one_has_no_stats(tmp_path):
    crawl_dir = tmp_path / "crawl"
    write_atomic_json(crawl_dir / "20260102T000000Z" / "stats.json", {"stored": 2})
    write_atomic_json(crawl_dir / "20260101T000000Z" / "stats.json", {"stored": 1})
    (crawl_dir / "20260103T000000Z").mkdir()  # still running: no stats.json yet
    (crawl_dir / "20260104T000000Z").mkdir()
    (crawl_dir / "20260104T000000Z" / "stats.json").write_text("{")
    found = list_crawls(crawl_dir)
    assert [c.id for c in found] == ["20260101T000000Z", "20260102T000000Z", "20260104T000000Z"]
    assert [c.stats and c.stats.stored for c in found] == [1, 2, None]
    assert found[0].stats.pages == 0 and found[0].stats.rejected == {}  # keys an older crawl lacks
    assert list_crawls(tmp_path / "nothing") == []


def test_crawl_stats_round_trip_and_a_wrong_kind_of_value_is_damage():
    stats = CrawlStats(stored=3, rejected={"too_small": 2}, start_urls=["http://x/"], frontier=None)
    assert CrawlStats.from_dict(stats.to_dict()) == stats and stats.rejected_total == 2
    assert CrawlStats.from_dict({**stats.to_dict(), "unknown": 1}) == stats
    assert CrawlStats.from_dict({"stored": "three"}) is None and CrawlStats.from_dict([1]) is None


def test_append_jsonl_cuts_back_a_failed_write(tmp_path, monkeypatch):
    import os

    path = tmp_path / "log.jsonl"
    append_jsonl(path, {"a": "é"})

    def full(_fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError):
        append_jsonl(path, {"a": 2})
    assert path.read_text(encoding="utf-8") == '{"a":"é"}\n' and list(iter_jsonl(path)) == [{"a": "é"}]


def test_the_promoted_model_reads_back_and_a_damaged_pointer_is_none(tmp_path):
    ws = Workspace.at(tmp_path)
    assert current(ws) is None
    (ws.runs_dir / "00001-x" / "checkpoints" / "step-0000001").mkdir(parents=True)
    (ws.runs_dir / "00001-x" / "checkpoints" / "step-0000001" / "weights.safetensors").write_bytes(b"")
    record = promote(ws, "00001-x", "checkpoints/step-0000001", reason="test")
    assert current(ws) == record
    assert json.loads(ws.current_model.read_text())["run"] == "runs/00001-x"
    ws.current_model.write_text('{"checkpoint": "x"}')  # no run: not a pointer
    assert current(ws) is None


def test_promoting_a_checkpoint_that_is_not_there_is_refused_and_changes_nothing(tmp_path):
    ws = Workspace.at(tmp_path)
    ckpts = ws.runs_dir / "00001-x" / "checkpoints"
    (ckpts / "step-0000001").mkdir(parents=True)
    (ckpts / "step-0000001" / "weights.safetensors").write_bytes(b"")
    (ckpts / "step-0000002").mkdir()  # a folder without weights: not a checkpoint
    (tmp_path.parent / "elsewhere" / "step-0000001").mkdir(parents=True, exist_ok=True)
    before = promote(ws, "00001-x", "checkpoints/step-0000001", reason="test")
    for run, ckpt, why in [("00001-x", "checkpoints/step-0000009", "no such checkpoint"),
                           ("00001-x", "checkpoints/step-0000002", "no such checkpoint"),
                           ("00009-y", "checkpoints/step-0000001", "no such run"),
                           ("00001-x", "../../../elsewhere/step-0000001", "not a checkpoint of run"),
                           (tmp_path.parent / "elsewhere", "step-0000001", "no such run")]:
        with pytest.raises(UserError, match=why):
            promote(ws, run, ckpt, reason="test")
    assert current(ws) == before
    assert len(ws.models_dir.joinpath("history.jsonl").read_text().splitlines()) == 1


def test_the_manifest_reader_skips_lines_that_name_no_file(tmp_path):
    path = tmp_path / "raw" / "manifest.jsonl"
    append_jsonl(path, {"url": "u1", "sha256": "a", "path": "raw/a.png"})
    append_jsonl(path, {"url": "u2"})  # incomplete
    append_jsonl(path, {"url": "u3", "sha256": "a", "path": "raw/a.png"})
    with open(path, "a") as f:
        f.write('{"url": "u4", "sha')  # torn
    assert [m["url"] for m in read_manifest(path)] == ["u1", "u3"]
    assert sources_by_sha(path)["a"]["url"] == "u1"
