"""gan sets OpenMP's passive wait policy before torch loads, unless the user chose one
(gan/__init__.py; bench/cpu_threads.py measures why)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRINT_POLICY = "import gan, os; print(os.environ.get('OMP_WAIT_POLICY'))"


def _policy_seen(env: dict[str, str]) -> str:
    return subprocess.run([sys.executable, "-c", PRINT_POLICY], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True).stdout.strip()


def test_importing_gan_makes_openmp_threads_wait_passively():
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    assert _policy_seen(env) == "PASSIVE"


def test_a_policy_the_user_set_wins():
    assert _policy_seen({**os.environ, "OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE"


def test_the_studio_sets_it_before_any_command_can_load_torch():
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", "import studio, os; print(os.environ.get('OMP_WAIT_POLICY'))"],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert out == "PASSIVE"
