"""Evaluation: the one the loop runs every `metric_every` steps (SWD (+ FID/KID), memorisation),
and a saved checkpoint's on a fixed evaluation set (the pipeline's gate compares two models so).

The loop's runs on rank 0 only, on `metric_images` EMA samples against as many real training
images; the result goes to metrics.jsonl, metrics-latest.json and a memorisation pairs grid.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from gan.checkpoint import load_state, resolve_checkpoint
from gan.data import load_images
from gan.metrics import fid_kid, memorization, swd
from gan.rundir import SAMPLES, Run, atomic_write, memorization_pairs_path
from gan.sampling import generate, grid_image, latents, load_generator
from gan.state import State


def draw_reals(reals: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """`n` of `reals` drawn with `seed`: the same images for every model measured with that seed.
    A set smaller than `n` is drawn with repeats."""
    gen = torch.Generator().manual_seed(seed)
    pick = torch.randperm(len(reals), generator=gen)[:n] if len(reals) >= n else \
        torch.randint(len(reals), (n,), generator=gen)
    return reals[pick]


def evaluate(st: State, reals: torch.Tensor, run: Run, device: torch.device,
             log: Callable[[str], None]) -> dict[str, Any]:
    """SWD (+ FID/KID when configured) of G_ema against real images, and the memorisation check."""
    cfg = st.cfg
    n = cfg.metric_images
    real = draw_reals(reals, n, cfg.seed + 7)
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
    run.folder(SAMPLES)  # created on first use
    grid_image(torch.stack([im for f, t, _ in pairs for im in (fake[f], reals[t])]), nrow=2).save(
        memorization_pairs_path(run.path, st.step))  # left: generated, right: nearest real
    run.record({"event": "metric", "step": st.step, **out})
    atomic_write(run.path / "metrics-latest.json", (json.dumps({"step": st.step, **out}, indent=2) + "\n").encode())
    return out


def evaluate_checkpoint(
    checkpoint: Path,
    data_dir: Path,
    *,
    n: int,
    seed: int,
    resolution: int | None = None,
    inception_weights: str = "",
    device: str = "cpu",
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Metrics of `checkpoint`'s EMA generator against `n` images of `data_dir` drawn with `seed`
    (and noise from the same seed), so two models measured alike are compared fairly.

    `resolution` (default: the model's) lets two models of different sizes be compared at the
    smaller one: generated images are area-resized to it.
    """
    import torch.nn.functional as F

    g, cfg = load_generator(checkpoint, device=device)
    side = resolution or cfg.resolution
    real = draw_reals(load_images(data_dir, side, log=log).images, n, seed)
    fake = generate(g, latents(n, seed, cfg.z_dim))
    if fake.shape[-1] != side:
        fake = F.interpolate(fake.float(), size=(side, side), mode="area").round().clamp(0, 255).to(torch.uint8)
    out: dict[str, Any] = {"swd": swd(real, fake, seed=seed, device=device)["swd"]}
    if inception_weights:
        out.update(fid_kid(real, fake, inception_weights, torch.device(device), log))
    out.update(images=n, seed=seed, resolution=side)
    return out


def model_resolution(checkpoint: Path) -> int:
    """The image side a checkpoint's model generates."""
    return int(load_state(resolve_checkpoint(checkpoint))["config"]["resolution"])
