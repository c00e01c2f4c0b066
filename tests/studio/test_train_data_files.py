"""`studio train --data` reads only regular files, and a signal stops it while it decodes.

A FIFO named like an image used to hang the decoding for ever (and two SIGTERMs were ignored);
a dangling symlink was a traceback. Both through a real `studio train` process, with a timeout.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time

import numpy as np
import pytest
from PIL import Image

from tests.gan.gan_helpers import make_images
from tests.helpers import ONE_THREAD, start_studio, studio

pytestmark = [pytest.mark.slow, pytest.mark.cli]

TINY = ["--resolution", "32", "--batch", "4", "--device", "cpu", "--g-width", "8", "--d-width", "8",
        "--log-every", "1", "--sample-every", "1000000", "--ckpt-every", "1000000", "--metric-every", "0",
        "--metric-images", "8"]


def test_fifos_devices_and_dangling_symlinks_in_data_are_skipped(tmp_path):
    data = tmp_path / "data"
    make_images(data, n=6)
    real = sum(1 for _ in data.rglob("*.*"))
    os.mkfifo(data / "pipe.png")  # opening it would wait for a writer for ever
    (data / "gone.jpg").symlink_to(tmp_path / "no-such-file.jpg")
    (data / "zero.png").symlink_to("/dev/zero")  # a character device
    run = tmp_path / "run"
    proc = studio("train", "--data", data, "--out", run, "--steps", "1", *TINY, env=ONE_THREAD,
                  timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    record = json.loads((run / "config.json").read_text())
    assert record["images"] == real and record["skipped_images"] == 0, record  # the three were never files


def test_sigterm_while_decoding_stops_at_once_with_one_line(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    # 40 large (64 Mpx) but tiny-on-disk PNGs: decoding them all takes far longer than the wait below.
    Image.fromarray(np.full((8000, 8000, 3), 90, np.uint8)).save(data / "big-00.png", compress_level=1)
    for i in range(1, 40):
        shutil.copyfile(data / "big-00.png", data / f"big-{i:02d}.png")
    log = tmp_path / "train.log"
    with open(log, "w") as out:
        proc = start_studio("train", "--data", data, "--out", tmp_path / "run", "--steps", "1", *TINY,
                            env=ONE_THREAD, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 120
        while "decoding 40 images" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        time.sleep(1)
        proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        proc.wait(timeout=60)
        took = time.monotonic() - sent
    finally:
        proc.kill()
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]
    assert proc.returncode != 0
    lines = [x for x in text.splitlines() if "stopped by SIGTERM while decoding" in x]
    assert len(lines) == 1 and lines[0].startswith("studio: error: "), text[-2000:]
    assert took < 20, f"{took:.1f} s after SIGTERM"  # the images in flight, not all 40
