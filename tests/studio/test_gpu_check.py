"""bench/gpu_check.sh: refuses cleanly without CUDA, prints its plan, and (--smoke) runs every step
tiny on the CPU and prints the table that docs/benchmarks.md takes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.cli

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "gpu_check.sh"


def run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PY": sys.executable, "OUT_DIR": str(tmp_path), "OMP_NUM_THREADS": "1"}
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=900)


def test_without_cuda_it_refuses_in_one_line(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the check would run for real")
    r = run(tmp_path=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().splitlines() == [
        "gpu_check: no CUDA device here (torch.cuda.is_available() is False); nothing measured"]


def test_dry_run_prints_the_plan(tmp_path):
    r = run("--dry-run", tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "bench/train.py --device cuda --resolution 64 32" in r.stdout and "2000-step 64 px" in r.stdout
    assert not list(tmp_path.iterdir())  # nothing ran


@pytest.mark.slow
def test_smoke_runs_every_step_and_prints_the_table(tmp_path):
    r = run("--smoke", tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    table = (tmp_path / "table.md").read_text().splitlines()
    assert table[0].startswith("| machine | check | px | batch | img/s |")
    rows = [line for line in table[2:] if line.startswith("| cpu (smoke) |")]
    assert [row.split(" | ")[1] for row in rows] == ["reference loop", "ours loop", "ours / reference",
                                                   "20-step training, generated shapes"]
    assert all(float(row.split(" | ")[4].rstrip("x*")) > 0 for row in rows if "loop" in row)
    assert "SWD " in rows[-1] and "→" in rows[-1]
    assert "gpu_check took" in table[-1] and "Traceback" not in r.stderr
