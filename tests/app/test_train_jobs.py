"""Start a real `studio train` from the Train page, see it running, stop it from the page."""

from __future__ import annotations

import shutil
import time

from app import data, jobs
from studio.workspace import Workspace
from tests.app.app_helpers import assert_clean, open_page

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
