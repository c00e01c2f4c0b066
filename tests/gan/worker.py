"""Subprocess entry of the resume and DDP tests: train a tiny config, optionally kill itself.

    python worker.py DATA OUT STEPS [--kill-at N] [--resume] [--dump FILE] [--options JSON]

`--options` adds TrainConfig fields (e.g. the penalties and adaptive augmentation); with ADA on,
the dump also holds the augmentation probability's exact bits.
"""

import argparse
import hashlib
import json
import os
import signal
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root, for tests.gan
from gan.train import train
from tests.gan.gan_helpers import tiny

p = argparse.ArgumentParser()
p.add_argument("data")
p.add_argument("out")
p.add_argument("steps", type=int)
p.add_argument("--kill-at", type=int, default=0)
p.add_argument("--resume", action="store_true")
p.add_argument("--dump", default="")
p.add_argument("--options", default="{}")
a = p.parse_args()
torch.set_num_threads(1)  # same thread count in every process: bitwise-equal float sums


def after_step(st):
    if a.kill_at and st.step == a.kill_at:
        os.kill(os.getpid(), signal.SIGKILL)  # a real, unannounced death mid-run
    if a.dump and st.step == a.steps:
        h = hashlib.sha256()
        # parameters (and, single-process, BatchNorm statistics too: DDP keeps per-rank statistics
        # and re-broadcasts rank 0's at each forward, so only parameters must agree across ranks)
        tensors = [*st.G.parameters(), *st.D.parameters()]
        if int(os.environ.get("WORLD_SIZE", "1")) == 1:
            tensors += [*st.G.buffers(), *st.D.buffers()]
        if st.ada is not None:
            tensors += [st.ada.p, st.ada.acc]
        for t in tensors:
            h.update(t.detach().cpu().contiguous().numpy().tobytes())
        rank = int(os.environ.get("RANK", "0"))
        Path(f"{a.dump}.{rank}").write_text(h.hexdigest())


cfg = tiny(steps=a.steps, log_every=1, ckpt_every=2, sample_every=100, metric_images=16, batch=8,
           **json.loads(a.options))
train(cfg, a.data, a.out, resume=a.resume, log=lambda m: None, _after_step=after_step)
