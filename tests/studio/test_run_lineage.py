"""Runs point at their export relative to the workspace (issue 21, item 9): a workspace moved or
copied whole resumes and traces its runs in the new place; old records (absolute path) still read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gan.rundir import read_run_record
from studio.lineage import export_of_run
from studio.workspace import Workspace
from tests.gan.gan_helpers import make_images
from tests.helpers import ONE_THREAD, studio
from tests.studio.test_train_stop import TINY


def fake_export(ws: Path) -> Path:
    """exports/v0001 as curation.export lays it out (images/ and a manifest line per image)."""
    export = ws / "exports" / "v0001"
    make_images(export / "images", n=12)
    lines = [{"path": str(p.relative_to(export)), "sha256": p.stem} for p in sorted((export / "images").rglob("*.png"))]
    (export / "manifest.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return export


@pytest.mark.slow
@pytest.mark.cli
def test_a_moved_workspace_resumes_and_traces_its_runs_in_the_new_place(tmp_path):
    ws = tmp_path / "ws"
    assert studio("init", "-w", str(ws), env=ONE_THREAD).returncode == 0
    fake_export(ws)
    first = studio("train", "-w", str(ws), "--data", str(ws / "exports" / "v0001" / "images"),
                   "--steps", "2", *TINY, env=ONE_THREAD)
    assert first.returncode == 0, first.stderr
    (run,) = (ws / "runs").iterdir()
    raw = json.loads((run / "config.json").read_text())
    assert raw["data_from_run"] == "../../exports/v0001/images"

    moved = tmp_path / "moved"
    shutil.move(ws, moved)  # the original is gone: only the relative pointer can find the data
    record = read_run_record(moved / "runs" / run.name)
    assert record.data == moved / "exports" / "v0001" / "images"
    assert export_of_run(Workspace.at(moved), moved / "runs" / run.name) == moved / "exports" / "v0001"
    again = studio("train", "-w", str(moved), "--resume", run.name, "--steps", "4", *TINY, env=ONE_THREAD)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines()[-1].startswith(f"run {moved / 'runs' / run.name}: 4 steps")
    assert json.loads((moved / "runs" / run.name / "config.json").read_text())["data"] == \
        str(moved / "exports" / "v0001" / "images")


def test_a_copy_reads_its_own_export_and_old_absolute_records_still_read(tmp_path):
    for name in ("ws", "copy"):
        (tmp_path / name / "exports" / "v0001" / "images").mkdir(parents=True)
        (tmp_path / name / "runs" / "00000-images-r32").mkdir(parents=True)
    record = {"data": str(tmp_path / "ws" / "exports" / "v0001" / "images"),
              "data_from_run": "../../exports/v0001/images"}
    copy_run = tmp_path / "copy" / "runs" / "00000-images-r32"
    (copy_run / "config.json").write_text(json.dumps(record))
    assert read_run_record(copy_run).data == tmp_path / "copy" / "exports" / "v0001" / "images"
    old = tmp_path / "ws" / "runs" / "00000-images-r32"
    (old / "config.json").write_text(json.dumps({"data": record["data"]}))  # before data_from_run
    assert read_run_record(old).data == Path(record["data"])
    # A run folder copied away from its workspace still finds the data by its absolute path.
    alone = tmp_path / "elsewhere" / "deep" / "00000-images-r32"
    alone.mkdir(parents=True)
    (alone / "config.json").write_text(json.dumps(record))
    assert read_run_record(alone).data == Path(record["data"])


def test_data_outside_the_workspace_keeps_only_its_absolute_path(tmp_path):
    from gan.config import TrainConfig
    from gan.rundir import Run, RunRecord

    run = Run(tmp_path / "ws" / "runs" / "00000-x")
    run.path.mkdir(parents=True)
    run.write_record(RunRecord(TrainConfig(), Path("/srv/pictures")))
    assert json.loads((run.path / "config.json").read_text())["data_from_run"] is None
