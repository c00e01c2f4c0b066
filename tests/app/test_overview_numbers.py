"""The Overview says what each number measures: the funnel's images vs crops, the runs table's
SWD while training vs the promoted model's SWD on the gate's set (why the two differ)."""

from __future__ import annotations

import json
import shutil

from app import data
from studio.workspace import Workspace
from tests.app.app_helpers import assert_clean, open_page, texts


def test_gate_eval_set_is_read_from_the_runs_pipeline_record(tmp_path):
    ws = Workspace.at(tmp_path)
    run = ws.runs_dir / "00003-pipeline"
    run.mkdir(parents=True)
    assert data.gate_eval_set(ws, "runs/00003-pipeline") is None  # trained by hand
    eval_set = {"export": "v0002", "images": 512, "seed": 0, "resolution": 64}
    (run / "pipeline.json").write_text(json.dumps(
        {"stages": {"evaluate": {"status": "done", "result": {"eval_set": eval_set}}}}))
    assert data.gate_eval_set(ws, "runs/00003-pipeline") == eval_set
    (run / "pipeline.json").write_text("{")
    assert data.gate_eval_set(ws, "runs/00003-pipeline") is None


def test_runs_table_and_promoted_model_label_their_swd(monkeypatch, trained_ws, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(trained_ws, ws)  # a pipeline record is written into a run below
    at = open_page(monkeypatch, ws)
    assert_clean(at)
    table = next(d.value for d in at.dataframe if "train_swd" in d.value)
    assert {"run", "step", "train_swd", "swd_step"} <= set(table.columns)
    assert table["step"].notna().all()
    body = texts(at)
    assert "the run's own evaluation while training" in body  # promoted by hand (the fixture)
    swd = next(m for m in at.metric if m.label.startswith("SWD"))
    assert swd.value == "1.00" and swd.label == "SWD (lower is better)"

    run = ws / "runs" / "00000-tiny-r32"
    (run / "pipeline.json").write_text(json.dumps({"stages": {"evaluate": {"result": {
        "eval_set": {"export": "v0001", "images": 128, "seed": 0, "resolution": 32}}}}}))
    at = open_page(monkeypatch, ws)
    assert "the gate's evaluation set: 128 images of export v0001, seed 0, 32 px" in texts(at)
    assert "differ for the same checkpoint" in texts(at)


def test_funnel_counts_images_and_crops_apart(monkeypatch, curated_ws):
    at = open_page(monkeypatch, curated_ws)
    assert_clean(at)
    chart = next(e for e in at.get("vega_lite_chart") if "face crops" in e.proto.spec)
    assert "source images" in chart.proto.spec and '"images"' not in chart.proto.spec
    assert "Crawled and detected count source images" in texts(at)
