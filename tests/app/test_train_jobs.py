"""Start a real `studio train` from the Train page, see it running, stop it from the page."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from app import data, jobs
from studio.workspace import Workspace
from tests.app.app_helpers import assert_clean, open_page, texts

pytestmark = [pytest.mark.slow, pytest.mark.cli]

TINY = """[train]
z_dim = 16
g_width = 8
d_width = 8
log_every = 5
sample_every = 50
ckpt_every = 100000
metric_every = 0
compile = false
"""


def wait_for(check, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.5)


def test_start_and_stop_a_run_from_the_page(monkeypatch, trained_ws, tmp_path):
    root = shutil.copytree(trained_ws, tmp_path / "ws")
    (root / "studio.toml").write_text(TINY)
    ws = Workspace.at(root)
    at = open_page(monkeypatch, root, "train.py")
    at.selectbox(key="start-resolution").set_value(32)
    at.number_input(key="start-steps").set_value(1_000_000)  # still running when we stop it
    at.number_input(key="start-batch").set_value(8)
    at.text_input(key="start-device").set_value("cpu")
    next(b for b in at.button if b.label == "Start training").click().run()
    assert_clean(at)
    (job,) = jobs.list_jobs(ws)
    try:
        assert job.alive()
        run_dir = ws.runs_dir / job.run_id
        wait_for(lambda: data.is_running(run_dir) and data.read_metrics(run_dir))
        at.run()
        runs = at.selectbox(key="run")
        runs.set_value(job.run_id).run()
        assert_clean(at)
        next(b for b in at.button if b.label == "Stop run").click().run()
        wait_for(lambda: not job.alive(), timeout=60)
        assert not data.is_running(run_dir)
    finally:
        jobs.stop(job, force=True)


def test_a_run_with_an_unreadable_config_is_a_warning_not_a_starting_job(monkeypatch, tmp_path):
    root = tmp_path / "ws"
    (root / "runs" / "00000-broken-r32").mkdir(parents=True)
    (root / "runs" / "00000-broken-r32" / "config.json").write_text('{"resolution": 3')  # damaged
    (root / "runs" / "00001-early-r32").mkdir()  # its job died before writing config.json
    (root / "studio.toml").write_text("")
    ws = Workspace.at(root)
    jobs.jobs_dir(ws).mkdir(parents=True)
    for run_id in ("00000-broken-r32", "00001-early-r32"):
        log = jobs.jobs_dir(ws) / f"{run_id}.log"
        log.write_text(f"log of {run_id}\n")
        (jobs.jobs_dir(ws) / f"{run_id}.json").write_text(json.dumps(
            {"run_id": run_id, "pid": 2**22 + 1, "command": ["studio", "train"], "log": str(log),
             "started_at": "2025-01-01T00:00:00Z"}))  # a pid no process has: ended
    assert data.unreadable_runs(ws) == [ws.runs_dir / "00000-broken-r32"] and data.list_runs(ws) == []
    at = open_page(monkeypatch, root, "train.py")
    assert not at.exception, [e.value for e in at.exception]
    (warning,) = [w.value for w in at.warning]
    assert warning.startswith("00000-broken-r32: its config.json cannot be read")
    labels = [e.label for e in at.expander]
    assert "00001-early-r32: ended before its first step" in labels
    assert not [label for label in labels if label.startswith("00000-broken-r32:") and "training log" not in label]
    assert "log of 00000-broken-r32" in texts(at)
