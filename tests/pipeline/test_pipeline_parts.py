"""The pipeline's parts on real files and processes: gate, policy, stage state and resume, report,
webhook, promotion and the workspace lock."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from studio.config import PipelineConfig, StudioConfig
from studio.gate import decide
from studio.models import current, current_checkpoint, promote
from studio.pipeline import StageFailed, run_pipeline
from studio.policy import decide_training
from studio.report import notify_report
from studio.run_state import read_state
from studio.workspace import Workspace
from tests.pipeline.pipeline_helpers import studio


def test_gate_promotes_within_tolerance_and_refuses_worse():
    assert decide({"swd": 100.0}, None, 0.05).promote
    assert decide({"swd": 104.9}, {"swd": 100.0}, 0.05).promote
    assert decide({"swd": 90.0}, {"swd": 100.0}, 0.0).promote
    worse = decide({"swd": 105.1}, {"swd": 100.0}, 0.05)
    assert not worse.promote and "worse" in worse.reason and worse.limit == pytest.approx(105.0)
    assert not decide({"swd": float("nan")}, None, 0.05).promote
    # FID decides when both sides have it, even if SWD disagrees.
    fid = decide({"swd": 200.0, "fid": 40.0}, {"swd": 100.0, "fid": 50.0}, 0.05)
    assert fid.promote and fid.metric == "fid"


def test_policy_trains_on_enough_new_crops_warm_or_cold(tmp_path):
    cfg = PipelineConfig(min_new_accepted=5, warm_start=True, steps=77)
    ckpt = tmp_path / "ckpt"
    no = decide_training(cfg, export_size=20, new=4, promoted_checkpoint=ckpt)
    assert not no.train and "only 4 new" in no.reason
    yes = decide_training(cfg, export_size=20, new=5, promoted_checkpoint=ckpt)
    assert yes.train and yes.warm_start_from == ckpt and yes.steps == 77
    cold = decide_training(PipelineConfig(min_new_accepted=5, warm_start=False), export_size=20, new=9,
                           promoted_checkpoint=ckpt)
    assert cold.train and cold.warm_start_from is None
    forced = decide_training(cfg, export_size=20, new=0, promoted_checkpoint=None, force=True)
    assert forced.train and forced.warm_start_from is None
    assert not decide_training(cfg, export_size=0, new=0, promoted_checkpoint=None, force=True).train


def _workspace(tmp_path: Path) -> Workspace:
    ws = Workspace.at(tmp_path / "ws")
    ws.root.mkdir()
    ws.config_path.write_text("")
    return ws


def test_failed_stage_stops_keeps_earlier_outputs_and_next_run_resumes_there(tmp_path):
    ws = _workspace(tmp_path)
    calls: list[str] = []
    site_up = {"value": False}

    def produce(ctx):
        calls.append("produce")
        (ctx.ws.root / "product.txt").write_text("made once")
        return {"summary": "made the product"}

    def fetch(ctx):
        calls.append("fetch")
        if not site_up["value"]:
            raise ConnectionError("site down")
        return {"summary": "fetched", "product": (ctx.ws.root / "product.txt").read_text()}

    stages = [("produce", produce), ("fetch", fetch)]
    with pytest.raises(StageFailed) as exc:
        run_pipeline(ws, StudioConfig(), stages=stages, log=lambda m: None)
    message = str(exc.value)
    assert "`fetch` failed: site down" in message and "resumes at `fetch`" in message
    run = ws.runs_dir / "00000-pipeline"
    state = read_state(run)
    assert state["status"] == "failed" and state["stages"]["produce"]["status"] == "done"
    assert state["stages"]["fetch"]["status"] == "failed"
    assert "FAILED at `fetch`" in (run / "report.md").read_text()
    assert (ws.root / "product.txt").read_text() == "made once"

    site_up["value"] = True
    report = run_pipeline(ws, StudioConfig(), stages=stages, log=lambda m: None)
    assert calls == ["produce", "fetch", "fetch"]  # produce was not redone
    assert report["run"] == run.name and report["attempts"] == 2 and report["status"] == "done"
    assert report["stages"]["fetch"]["result"]["product"] == "made once"
    # A finished run is not resumed: the next call starts run 00001.
    assert run_pipeline(ws, StudioConfig(), stages=stages, log=lambda m: None)["run"] == "00001-pipeline"


def test_report_is_posted_to_the_webhook_and_a_dead_one_is_only_logged(tmp_path, webhook):
    ws = _workspace(tmp_path)
    stages = [("crawl", lambda ctx: {"summary": "3 new images", "new_images": 3})]
    report = run_pipeline(ws, StudioConfig(), stages=stages, notify=webhook.url, log=lambda m: None)
    (post,) = webhook.posts
    assert post["run"] == report["run"] and post["status"] == "done"
    assert post["text"].startswith(f"Pipeline run {report['run']}: done") and "3 new images" in post["text"]
    saved = json.loads((ws.runs_dir / report["run"] / "report.json").read_text())
    assert saved["stages"]["crawl"]["result"]["new_images"] == 3
    logged: list[str] = []
    assert not notify_report("http://127.0.0.1:9/hook", report, log=logged.append)
    assert any("failed" in line for line in logged)


def test_promote_writes_a_pointer_gan_can_resolve(tmp_path):
    from gan.checkpoint import resolve_checkpoint

    ws = _workspace(tmp_path)
    ckpt = ws.runs_dir / "00004-x" / "checkpoints" / "step-0000010"
    ckpt.mkdir(parents=True)
    (ckpt / "weights.safetensors").write_bytes(b"")
    promote(ws, "00004-x", ckpt, export="v0001", metrics={"swd": 1.5}, reason="test")
    pointer = current(ws)
    assert pointer["run"] == "runs/00004-x" and pointer["checkpoint"] == "checkpoints/step-0000010"
    assert current_checkpoint(ws) == ckpt.resolve()
    assert resolve_checkpoint(ws.current_model) == ckpt.resolve()
    assert sorted(p.name for p in ws.models_dir.iterdir()) == ["current.json", "history.jsonl"]


@pytest.mark.cli
def test_lock_refuses_a_second_concurrent_pipeline(tmp_path):
    ws = _workspace(tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from studio.workspace import Workspace
        with Workspace.at({str(ws.root)!r}).lock("pipeline"):
            print("held", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        r = studio("pipeline", "--workspace", str(ws.root))
        assert r.returncode == 2
        assert "another studio process is running `pipeline`" in r.stderr and "Traceback" not in r.stderr
        assert not ws.runs_dir.exists()  # refused before anything was written
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("gpu", [False, True])
def test_demo_config_is_a_valid_studio_toml(tmp_path, gpu):
    from studio.config import TEMPLATE, load_config
    from studio.demo.command import CPU, GPU, demo_config

    path = tmp_path / "studio.toml"
    path.write_text(demo_config(TEMPLATE.read_text(), "http://127.0.0.1:8765/", gpu))
    cfg = load_config(path)
    assert cfg.sources.urls == ["http://127.0.0.1:8765/"] and cfg.curate.detector == "human"
    assert cfg.crawl.download_delay == 0 and cfg.pipeline.min_new_accepted == 1
    sizes = GPU if gpu else CPU
    assert (cfg.train.resolution, cfg.pipeline.steps) == (sizes["train"]["resolution"], sizes["pipeline"]["steps"])
    assert cfg.train.resolution == (64 if gpu else 32)
