"""`studio train --sanity`: a few hundred real CPU steps on ~20 images and a one-line verdict."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gan.gan_helpers import make_images

pytestmark = [pytest.mark.slow, pytest.mark.cli]

ROOT = Path(__file__).resolve().parents[2]
SMALL = "[train]\nz_dim = 16\ng_width = 8\nd_width = 8\ndevice = \"cpu\"\n"


def sanity(ws: Path, data: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "studio", "train", "--sanity", "--data", str(data), "-w", str(ws)],
                          env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sanity-images")
    make_images(folder, n=30)
    return folder


def test_a_sound_setup_passes(images, tmp_path):
    (tmp_path / "studio.toml").write_text(SMALL)
    r = sanity(tmp_path, images)
    assert r.returncode == 0, r.stderr[-2000:]
    verdict = r.stdout.strip().splitlines()[-1]
    assert verdict.startswith("sanity PASS: GAN losses moved") and "reproduced 20/20 images" in verdict
    assert "300 steps on 20 images at 32 px" in verdict
    assert not list(tmp_path.glob(".sanity-*")) and not (tmp_path / "runs").exists()  # leaves nothing behind


def test_a_setup_that_cannot_learn_fails_with_exit_1(images, tmp_path):
    (tmp_path / "studio.toml").write_text(SMALL + "lr_g = 1e-12\nlr_d = 1e-12\n")  # a frozen GAN
    r = sanity(tmp_path, images)
    assert r.returncode == 1, r.stderr[-2000:]
    verdict = r.stdout.strip().splitlines()[-1]
    assert verdict.startswith("sanity FAIL: GAN losses did not move")
