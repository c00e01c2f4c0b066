"""`torchrun … studio train` without --out: rank 0 alone claims the numbered run folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gan.checkpoint import list_checkpoints
from tests.gan.gan_helpers import make_images

pytestmark = [pytest.mark.slow, pytest.mark.cli]

ROOT = Path(__file__).resolve().parents[2]
TINY = """[train]
resolution = 32
z_dim = 16
g_width = 8
d_width = 8
batch = 8
device = "cpu"
log_every = 2
sample_every = 4
ckpt_every = 2
metric_every = 0
metric_images = 16
"""


def test_two_gloo_ranks_train_into_one_run_folder(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "studio.toml").write_text(TINY)
    make_images(tmp_path / "images", n=12)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m", "studio",
           "train", "--workspace", str(ws), "--data", str(tmp_path / "images"), "--steps", "4"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = sorted((ws / "runs").iterdir())  # one folder, not one per rank
    assert run.name == "00000-images-r32"
    assert json.loads((run / "config.json").read_text())["world_size"] == 2
    assert list_checkpoints(run / "checkpoints")[-1].name == "step-0000004"
    said = [line for line in proc.stdout.splitlines() if line.startswith("run ")]
    assert said == [line for line in said if line.startswith(f"run {run}: 4 steps")] and len(said) == 1
