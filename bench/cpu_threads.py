"""OpenMP's wait policy and a shared CPU: DCGAN training steps per second, each way.

PyTorch's CPU wheels use GNU OpenMP; by default its idle threads spin at every barrier. On a
machine where anything else wants the cores (a second process, MongoDB, curate workers), the
spinning threads take them from the work. gan/__init__.py sets OMP_WAIT_POLICY=PASSIVE unless the
user set a policy; this measures why: the same steps in a fresh interpreter per policy, on a quiet
CPU and beside one busy process.

    python bench/cpu_threads.py [--steps 50] [--resolution 32]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys

STEPS_CODE = """
import os, sys, time
os.environ["OMP_WAIT_POLICY"] = sys.argv[1]
import torch
from gan.config import TrainConfig
from gan.models import build_models
torch.manual_seed(0)
cfg = TrainConfig(resolution=int(sys.argv[3]), g_width=32, d_width=32, batch=32, device="cpu")
g, d = build_models(cfg)
opt = torch.optim.Adam(list(g.parameters()) + list(d.parameters()))
z = torch.randn(cfg.batch, cfg.z_dim)
t0 = time.perf_counter()
for _ in range(int(sys.argv[2])):
    loss = d(g(z)).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
print(time.perf_counter() - t0)
"""


def _busy(stop) -> None:
    while not stop.is_set():
        pass


def steps_per_second(policy: str, steps: int, resolution: int) -> float:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", STEPS_CODE, policy, str(steps), str(resolution)],
                         cwd=root, capture_output=True, text=True, check=True)
    return steps / float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--resolution", type=int, default=32)
    args = ap.parse_args()
    print(f"{os.cpu_count()} CPUs; {args.steps} steps, batch 32, {args.resolution} px, widths 32")
    for load in ("quiet", "one busy process"):
        stop = multiprocessing.Event()
        busy = multiprocessing.Process(target=_busy, args=(stop,)) if load != "quiet" else None
        if busy:
            busy.start()
        try:
            for policy in ("ACTIVE", "PASSIVE"):
                rate = steps_per_second(policy, args.steps, args.resolution)
                print(f"{load:>17}  OMP_WAIT_POLICY={policy:<8} {rate:7.1f} steps/s")
        finally:
            if busy:
                stop.set()
                busy.join()


if __name__ == "__main__":
    main()
