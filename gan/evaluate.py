"""The evaluation the loop runs every `metric_every` steps: SWD (+ FID/KID), memorisation.

Runs on rank 0 only, on `metric_images` EMA samples against as many real training images; the
result goes to metrics.jsonl, metrics-latest.json and a memorisation pairs grid.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import torch

from gan.metrics import fid_kid, memorization, swd
from gan.rundir import Run, atomic_write
from gan.sampling import generate, grid_image, latents
from gan.state import State


def evaluate(st: State, reals: torch.Tensor, run: Run, device: torch.device,
             log: Callable[[str], None]) -> dict[str, Any]:
    """SWD (+ FID/KID when configured) of G_ema against real images, and the memorisation check."""
    cfg = st.cfg
    n, gen = cfg.metric_images, torch.Generator().manual_seed(cfg.seed + 7)
    pick = torch.randperm(len(reals), generator=gen)[:n] if len(reals) >= n else \
        torch.randint(len(reals), (n,), generator=gen)  # a small set is drawn with repeats
    real = reals[pick]
    fake = generate(st.G_ema, latents(n, cfg.seed + 2, cfg.z_dim))
    out: dict[str, Any] = swd(real, fake, device=device)
    if cfg.inception_weights:
        # a bad weights file is one line for the whole run, not one per evaluation
        out.update(fid_kid(real, fake, cfg.inception_weights, device, lambda m: run.log_once(f"fid: {m}", m)))
    else:
        run.log_once("fid", "FID/KID skipped: set inception_weights in [train] to a local Inception weights file")
    mem = memorization(fake, reals, cfg.memorization_threshold, device=device)
    pairs = mem.pop("closest_pairs")
    out.update(mem)
    grid_image(torch.stack([im for f, t, _ in pairs for im in (fake[f], reals[t])]), nrow=2).save(
        run.folder("samples") / f"memorization-step-{st.step:07d}.png")  # left: generated, right: nearest real
    run.record({"event": "metric", "step": st.step, **out})
    atomic_write(run.path / "metrics-latest.json", (json.dumps({"step": st.step, **out}, indent=2) + "\n").encode())
    return out
