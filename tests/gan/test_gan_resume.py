"""Exact resume: a run SIGKILLed mid-way and resumed ends bit-identical to an uninterrupted one."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gan.checkpoint import list_checkpoints, load_weights

pytestmark = pytest.mark.cli

WORKER = Path(__file__).with_name("worker.py")
ROOT = Path(__file__).resolve().parents[2]


def _worker(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(WORKER), *map(str, args)], env=env, capture_output=True, text=True, timeout=240)


def test_sigkill_then_resume_is_exact(image_dir, tmp_path):
    straight = _worker(image_dir, tmp_path / "a", 6, "--dump", tmp_path / "a.hash")
    assert straight.returncode == 0, straight.stderr
    killed = _worker(image_dir, tmp_path / "b", 6, "--kill-at", 5)
    assert killed.returncode == -9  # died of SIGKILL after the step-4 checkpoint
    assert [c.name for c in list_checkpoints(tmp_path / "b" / "checkpoints")] == ["step-0000002", "step-0000004"]
    resumed = _worker(image_dir, tmp_path / "b", 6, "--resume", "--dump", tmp_path / "b.hash")
    assert resumed.returncode == 0, resumed.stderr
    assert (tmp_path / "a.hash.0").read_text() == (tmp_path / "b.hash.0").read_text()
    wa = load_weights(list_checkpoints(tmp_path / "a" / "checkpoints")[-1])
    wb = load_weights(list_checkpoints(tmp_path / "b" / "checkpoints")[-1])
    assert wa.keys() == wb.keys() and all((wa[k] == wb[k]).all() for k in wa)
    assert '"event":"resume"' in (tmp_path / "b" / "metrics.jsonl").read_text()


def test_ddp_two_gloo_processes_agree(image_dir, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
           str(WORKER), str(image_dir), str(tmp_path / "ddp"), "4", "--dump", str(tmp_path / "h")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    h0, h1 = (tmp_path / "h.0").read_text(), (tmp_path / "h.1").read_text()
    assert h0 == h1  # DDP kept both ranks' G and D identical
    assert [c.name for c in list_checkpoints(tmp_path / "ddp" / "checkpoints")][-1] == "step-0000004"
    assert (tmp_path / "ddp" / "metrics.jsonl").read_text().count("\n") > 0
