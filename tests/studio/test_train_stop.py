"""A real `studio train` process stopped by SIGINT / SIGTERM: step finished, checkpoint, exit 0
with one line; `--resume` then continues it to the end."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from gan.checkpoint import list_checkpoints
from tests.gan.gan_helpers import make_images
from tests.helpers import ONE_THREAD, start_studio

TINY = ["--resolution", "32", "--batch", "8", "--device", "cpu", "--g-width", "8", "--d-width", "8",
        "--log-every", "5", "--sample-every", "1000000", "--ckpt-every", "1000000", "--metric-every", "0",
        "--metric-images", "16"]


def records(run: Path) -> list[dict]:
    path = run / "metrics.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def wait_for(check, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stop-images")
    make_images(folder, n=16)
    return folder


@pytest.mark.slow
@pytest.mark.cli
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_after_the_step_with_a_checkpoint_and_resume_finishes(sig, images, tmp_path):
    run = tmp_path / "run"
    proc = start_studio("train", "--data", str(images), "--out", str(run), "--steps", "1000000", *TINY,
                        env=ONE_THREAD)
    try:
        wait_for(lambda: any("loss_d" in r for r in records(run)))
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, err[-2000:]
    (stopped,) = [r for r in records(run) if r.get("event") == "stopped"]
    step = stopped["step"]
    assert stopped["signal"] == sig.name and stopped["total"] == 1_000_000
    lines = out.strip().splitlines()  # the log (tqdm.write) shares stdout: the verdict is the last line
    assert [x for x in lines if "stopped" in x] == [lines[-1]] and lines[-1] == (
        f"run {run}: stopped by {sig.name} at step {step} of 1000000 (checkpoint step-{step:07d}); "
        f"continue with: studio train --resume {run}")
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert [c.name for c in list_checkpoints(run / "checkpoints")] == [f"step-{step:07d}"]
    assert (run / "samples" / f"step-{step:07d}.png").exists()  # the grid of where it stopped

    resumed = start_studio("train", "--resume", str(run), "--steps", str(step + 3), env=ONE_THREAD)
    out, err = resumed.communicate(timeout=180)
    assert resumed.returncode == 0, err[-2000:]
    assert out.strip().splitlines()[-1].startswith(f"run {run}: {step + 3} steps")
    assert list_checkpoints(run / "checkpoints")[-1].name == f"step-{step + 3:07d}"
    assert [r["step"] for r in records(run) if r.get("event") == "resume"] == [step]
