"""Train page: a real `studio train` started from the page, stopped (SIGINT: step, checkpoint,
exit 0), shown as stopped, and resumed from the page to the end."""

from __future__ import annotations

import shutil

import pytest

from app import data, jobs
from gan.checkpoint import list_checkpoints
from studio.workspace import Workspace
from tests.app.app_helpers import assert_clean, open_page, texts
from tests.app.test_train_jobs import TINY, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.cli]


def test_stop_then_resume_from_the_page(monkeypatch, trained_ws, tmp_path):
    root = shutil.copytree(trained_ws, tmp_path / "ws")
    (root / "studio.toml").write_text(TINY)
    ws = Workspace.at(root)
    at = open_page(monkeypatch, root, "train.py")
    at.selectbox(key="start-resolution").set_value(32)
    at.number_input(key="start-steps").set_value(1_000_000)
    at.number_input(key="start-batch").set_value(8)
    at.text_input(key="start-device").set_value("cpu")
    next(b for b in at.button if b.label == "Start training").click().run()
    (job,) = jobs.list_jobs(ws)
    run_dir = ws.runs_dir / job.run_id
    try:
        wait_for(lambda: data.is_running(run_dir) and data.read_metrics(run_dir))
        at.run()
        at.selectbox(key="run").set_value(job.run_id).run()
        next(b for b in at.button if b.label == "Stop run").click().run()
        wait_for(lambda: not job.alive(), timeout=120)
        at.run()
        assert_clean(at)
        stopped = jobs.resumable(run_dir)
        step = stopped.step
        assert stopped.signal == "SIGINT" and stopped.total == 1_000_000
        assert [c.name for c in list_checkpoints(run_dir / "checkpoints")] == [f"step-{step:07d}"]
        assert f"{job.run_id} stopped by SIGINT: checkpoint at step {step} of 1000000." in texts(at)
        assert "stopped by SIGINT" in job.log_tail()  # the process's own one line, in the log
        at.number_input(key="resume-steps").set_value(step + 4)
        next(b for b in at.button if b.key == "resume-run").click().run()
        assert_clean(at)
        resumed = jobs.job_of(ws, job.run_id)
        assert resumed.pid != job.pid and "--resume" in resumed.command
        wait_for(lambda: not resumed.alive(), timeout=180)
        assert list_checkpoints(run_dir / "checkpoints")[-1].name == f"step-{step + 4:07d}"
        assert [m["step"] for m in data.read_metrics(run_dir) if m.get("event") == "resume"] == [step]
        at.run()
        assert_clean(at)
        assert not [b for b in at.button if b.key == "resume-run"]  # it ran to its end: nothing to resume
    finally:
        for j in jobs.list_jobs(ws):
            jobs.stop(j, force=True)
