"""`studio train` off a terminal (cron, nohup, a pipe) prints one progress line per log window:
step, img/s, losses and ETA (issue 21, item 4). A real process with its output piped."""

from __future__ import annotations

import re

import pytest

from tests.gan.gan_helpers import make_images
from tests.helpers import ONE_THREAD, studio
from tests.studio.test_train_stop import TINY

LINE = re.compile(r"^step (\d+)/30 \((\d+)%\): [\d.]+ img/s, loss D -?[\d.]+ G -?[\d.]+, "
                  r"D\(x\) [\d.]+ D\(G\(z\)\) [\d.]+, ETA (\d+s|\d+m\d\ds|done)$")


@pytest.mark.slow
@pytest.mark.cli
def test_piped_training_prints_a_line_per_log_window(tmp_path):
    make_images(tmp_path / "images", n=16)
    args = list(TINY)
    args[args.index("--log-every") + 1] = "10"
    proc = studio("train", "--data", tmp_path / "images", "--out", tmp_path / "run", "--steps", "30",
                  *args, env=ONE_THREAD)
    assert proc.returncode == 0, proc.stderr
    progress = [m for m in map(LINE.match, proc.stdout.splitlines()) if m]
    assert [int(m.group(1)) for m in progress] == [10, 20, 30], proc.stdout
    assert [int(m.group(2)) for m in progress] == [33, 67, 100]
    assert progress[-1].group(3) == "done" and progress[0].group(3) != "done"
    assert "\r" not in proc.stdout + proc.stderr  # no bar redrawn into the log
    assert proc.stdout.strip().splitlines()[-1].startswith(f"run {tmp_path / 'run'}: 30 steps")


def test_progress_line_eta_is_the_steps_left_at_the_window_speed():
    from studio.commands.train import progress_line

    e = {"step": 200, "total": 1000, "img_per_s": 80.0, "loss_d": 0.6931, "loss_g": 1.2345,
         "d_real": 0.51, "d_fake": 0.49}
    assert progress_line(e, batch=16) == ("step 200/1000 (20%): 80.0 img/s, loss D 0.693 G 1.234, "
                                          "D(x) 0.51 D(G(z)) 0.49, ETA 2m40s")  # 800 × 16 / 80 s
