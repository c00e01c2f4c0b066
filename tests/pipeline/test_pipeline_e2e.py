"""`studio pipeline` end to end on the local demo site with a tiny model, run after run.

1. the first run crawls, curates, exports, trains, evaluates and promotes (report, webhook, lineage);
2. a second run (`studio schedule --once`) downloads no image again and does not train;
3. with the site down a run fails at crawl, leaving the workspace as it was; with the site back
   the next run resumes that run, fetches only the new image, trains a deliberately worse model
   (1 step, from scratch) and the gate refuses it: kept, not promoted;
4. a forced retrain (`--train`) warm-starts from the promoted model's weights; its `studio pipeline`
   process is SIGKILLed mid-training, and the next `studio pipeline` resumes the same run from its
   last checkpoint, finishes and promotes it.

The tests depend on each other's workspace and run in file order.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from studio.config import load_config
from studio.demo.server import serve
from studio.demo.site import DEMO_IMAGES, _face_canvas
from studio.pipeline import run_pipeline
from studio.run_state import read_state
from studio.workspace import Workspace
from tests.helpers import start_studio
from tests.pipeline.pipeline_helpers import make_workspace, set_keys, studio

pytestmark = [pytest.mark.slow, pytest.mark.cli]


class Site:
    """The demo site, stoppable and restartable on the same port."""

    def __init__(self, root: Path):
        from studio.demo.site import build_demo_site

        self.root = build_demo_site(root)
        self.port = 0
        self.start()

    def start(self) -> None:
        self._cm = serve(self.root, port=self.port)
        self.server = self._cm.__enter__()
        self.port = self.server.port

    def stop(self) -> None:
        self._cm.__exit__(None, None, None)

    def add_face_image(self) -> str:
        from skimage import data

        _face_canvas(data.lfw_subset(), 77, n=1, size=(200, 240)).save(self.root / "media" / "new-face.jpg")
        index = self.root / "index.html"
        index.write_text(index.read_text().replace("<!--EXTRA-->", '<img src="media/new-face.jpg" alt="new">'))
        return "/media/new-face.jpg"


@pytest.fixture(scope="module")
def world(fiftyone_db, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pipeline")
    site = Site(tmp / "site")
    ws = Workspace.at(make_workspace(tmp / "ws", site.server.url))
    yield {"site": site, "ws": ws}
    site.stop()


def image_requests(site: Site, since: int) -> list[str]:
    return [r.path for r in site.server.requests[since:] if r.path.startswith("/media/")]


def test_first_run_trains_evaluates_promotes_and_reports(world, webhook):
    ws, site = world["ws"], world["site"]
    report = run_pipeline(ws, load_config(ws.config_path), notify=webhook.url, log=lambda m: None)
    stages = report["stages"]
    assert report["status"] == "done" and [s["status"] for s in stages.values()] == ["done"] * 6
    crawl, curate, export = (stages[n]["result"] for n in ("crawl", "curate", "export"))
    assert crawl["new_images"] == len(DEMO_IMAGES) and sorted(set(image_requests(site, 0))) == sorted(DEMO_IMAGES)
    assert curate["new_crops"] > 0 and curate["decisions"]["accepted"] > 0
    assert curate["rejection_reasons"]  # the cat, coffee, landscapes: rejected, and why
    assert export["version"] == "v0001" and export["images"] == curate["decisions"]["accepted"]
    train = stages["train"]["result"]
    assert train["trained"] and train["steps"] == 60 and train["warm_start_from"] is None
    assert stages["promote"]["result"]["promoted"]
    pointer = json.loads(ws.current_model.read_text())
    assert pointer["run"] == f"runs/{report['run']}" and pointer["export"] == "v0001"
    assert (ws.runs_dir / report["run"] / pointer["checkpoint"] / "weights.safetensors").exists()
    md = (ws.runs_dir / report["run"] / "report.md").read_text()
    assert "## Crawled" in md and "## Decision" in md and "promoted" in md
    # The chat text is the report in plain lines (chat webhooks show Markdown headings literally).
    text = webhook.posts[0]["text"] if webhook.posts else ""
    assert text.startswith(f"Pipeline run {report['run']}: done") and "\n#" not in text
    assert text.rstrip().endswith("report.md") and "promoted" in text
    # Lineage: model ← export ← crawl + label state ← sources, shown by `studio status`.
    r = studio("status", "--json", "--workspace", str(ws.root))
    assert r.returncode == 0, r.stderr
    lineage = json.loads(r.stdout)["lineage"]
    assert lineage["export"]["version"] == "v0001" and lineage["crawls"] == [crawl["crawl"]]
    assert lineage["sources"] == [site.server.url] and lineage["label_state"]["labels"] == 0
    text = studio("status", "--workspace", str(ws.root)).stdout
    assert "← export v0001" in text and f"← sources {site.server.url}" in text
    world["first"] = report


def test_second_run_downloads_nothing_old_and_does_not_train(world):
    ws, site = world["ws"], world["site"]
    since = len(site.server.requests)
    r = studio("schedule", "--once", "--workspace", str(ws.root))
    assert r.returncode == 0, r.stdout + r.stderr
    assert image_requests(site, since) == []  # pages are re-read, known images are not fetched
    runs = sorted(p.name for p in ws.runs_dir.iterdir())
    state = read_state(ws.runs_dir / runs[-1])
    train = state["stages"]["train"]["result"]
    assert not train["trained"] and "only 0 new accepted crops" in train["reason"]
    assert state["stages"]["export"]["result"]["new_version"] is False
    assert json.loads(ws.current_model.read_text())["run"] == f"runs/{world['first']['run']}"
    assert not (ws.runs_dir / runs[-1] / "config.json").exists()  # no training run was started
    assert "not trained" in (ws.root / "logs" / "pipeline.log").read_text()


def test_failed_stage_leaves_workspace_consistent_then_resume_and_gate_refuses_worse(world):
    ws, site = world["ws"], world["site"]
    new_image = site.add_face_image()
    before = {p: p.read_bytes() for p in [ws.current_model, ws.raw_manifest]}
    exports = sorted(p.name for p in ws.exports_dir.iterdir())
    # A deliberately worse model: 1 step from scratch (--train) against the promoted 60-step one.
    config = ws.config_path.read_text().replace("steps = 60", "steps = 1")
    ws.config_path.write_text(config.replace("warm_start = true", "warm_start = false"))
    site.stop()
    r = studio("pipeline", "--train", "--workspace", str(ws.root))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "`crawl` failed" in r.stderr and "is the site up?" in r.stderr and "resumes at `crawl`" in r.stderr
    failed_run = sorted(ws.runs_dir.iterdir())[-1]
    assert read_state(failed_run)["status"] == "failed"
    assert {p: p.read_bytes() for p in before} == before  # nothing half-done
    assert sorted(p.name for p in ws.exports_dir.iterdir()) == exports

    site.start()
    since = len(site.server.requests)
    r = studio("pipeline", "--workspace", str(ws.root))  # --train was recorded with the run
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"resuming unfinished pipeline run {failed_run.name} at stage crawl" in r.stdout
    assert image_requests(site, since) == [new_image]
    report = json.loads((failed_run / "report.json").read_text())
    assert report["attempts"] == 2 and report["status"] == "done"
    stages = report["stages"]
    assert stages["train"]["result"]["trained"] and stages["train"]["result"]["steps"] == 1
    ev, decision = stages["evaluate"]["result"], stages["promote"]["result"]
    assert ev["promoted_before"] is not None and ev["new"]["swd"] > ev["promoted_before"]["swd"]
    assert not decision["promoted"] and "worse" in decision["reason"]
    assert json.loads(ws.current_model.read_text())["run"] == f"runs/{world['first']['run']}"
    assert (failed_run / "checkpoints").is_dir()  # kept, not promoted
    assert "NOT promoted" in (failed_run / "report.md").read_text()
    world["scratch_run"] = failed_run


def g_weights(ckpt: Path) -> dict:
    """G's learned parameters (not BatchNorm's running statistics, which every forward pass moves)."""
    from gan.checkpoint import load_weights

    return {k: v for k, v in load_weights(ckpt).items()
            if k.startswith("G.") and k.rsplit(".", 1)[-1] in ("weight", "bias")}


def max_difference(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in a)


def wait_for_checkpoint(ws: Workspace, runs_before: set[str], proc: subprocess.Popen, log: Path) -> Path:
    """The new run folder, once its training has written a checkpoint."""
    from gan.checkpoint import list_checkpoints

    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the pipeline ended before it was killed:\n{log.read_text()}"
        new = [p for p in ws.runs_dir.iterdir() if p.name not in runs_before] if ws.runs_dir.is_dir() else []
        if new and list_checkpoints(new[0] / "checkpoints"):
            return new[0]
        time.sleep(0.05)
    raise AssertionError(f"no checkpoint appeared:\n{log.read_text()}")


def test_warm_start_killed_mid_training_resumes_from_last_checkpoint_and_promotes(world, tmp_path):
    from gan.checkpoint import list_checkpoints

    ws = world["ws"]
    promoted_ckpt = ws.runs_dir / world["first"]["run"] / json.loads(ws.current_model.read_text())["checkpoint"]
    # Warm start on (and another seed, so a cold start would be a different random initialisation);
    # many steps with a checkpoint every 10, all kept, so the kill lands mid-training;
    # the gate's tolerance is wide: this test is about resuming, not about the gate.
    set_keys(ws.config_path, pipeline={"steps": 120, "warm_start": True, "tolerance": 1.0},
             train={"ckpt_every": 10, "keep_last": 100, "seed": 1})
    runs_before = {p.name for p in ws.runs_dir.iterdir()}
    log = tmp_path / "killed.log"
    with log.open("w") as out:
        proc = start_studio("pipeline", "--train", "--workspace", ws.root, stdout=out,
                            stderr=subprocess.STDOUT)
    try:
        run = wait_for_checkpoint(ws, runs_before, proc, log)
        os.kill(proc.pid, signal.SIGKILL)  # no clean-up of any kind: like a power cut or the OOM killer
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    state = read_state(run)
    assert state["status"] == "running" and state["stages"]["train"]["status"] == "running"
    assert state["train_start"]["warm_start_from"] == str(promoted_ckpt.resolve())
    assert not (run / "report.json").exists()  # the report is written when the run ends
    at_kill = {p.name: hashlib.sha256((p / "weights.safetensors").read_bytes()).hexdigest()
               for p in list_checkpoints(run / "checkpoints")}
    last_step = int(max(at_kill).removeprefix("step-"))
    assert 0 < last_step < 120

    # Warm start: 10 small Adam steps in, the weights are still next to the promoted ones: closer
    # than even the same-seed initialisation (the 1-step scratch run above) is. With seed 1 a
    # start from scratch would be a different random draw, far away.
    promoted = g_weights(promoted_ckpt)
    first = g_weights(run / "checkpoints" / min(at_kill))
    scratch = g_weights(list_checkpoints(world["scratch_run"] / "checkpoints")[-1])
    warm, cold = max_difference(first, promoted), max_difference(scratch, promoted)
    assert warm < cold / 2, (warm, cold)

    r = studio("pipeline", "--workspace", str(ws.root))  # --train was recorded with the run
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"resuming unfinished pipeline run {run.name} at stage train" in r.stdout
    assert "train: resuming the interrupted training" in r.stdout
    assert sorted(p.name for p in ws.runs_dir.iterdir()) == sorted(runs_before | {run.name})  # same run
    report = json.loads((run / "report.json").read_text())
    assert report["run"] == run.name and report["status"] == "done" and report["attempts"] == 2
    train = report["stages"]["train"]["result"]
    assert train["trained"] and train["resumed"] and train["steps"] == 120
    assert train["warm_start_from"] == str(promoted_ckpt.resolve()) and "warm start" in train["summary"]
    events = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [e["step"] for e in events if e.get("event") == "resume"] == [last_step]
    after = {p.name: hashlib.sha256((p / "weights.safetensors").read_bytes()).hexdigest()
             for p in list_checkpoints(run / "checkpoints")}
    assert at_kill.items() <= after.items()  # no checkpoint lost or changed
    assert f"step-{120:07d}" in after
    assert report["stages"]["promote"]["result"]["promoted"]
    assert json.loads(ws.current_model.read_text())["run"] == f"runs/{run.name}"
    assert "promoted" in (run / "report.md").read_text()
