"""The gate's evaluation: SWD (and FID when Inception weights are configured) of a checkpoint on a
fixed evaluation set — the same real images and the same noise for every model compared."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def evaluate_checkpoint(
    checkpoint: Path,
    data_dir: Path,
    *,
    n: int,
    seed: int,
    resolution: int | None = None,
    inception_weights: str = "",
    device: str = "cpu",
    log=print,
) -> dict[str, Any]:
    """Metrics of `checkpoint`'s EMA generator against `n` images of `data_dir` drawn with `seed`.

    `resolution` (default: the model's) lets two models of different sizes be compared at the
    smaller one: generated images are area-resized to it.
    """
    import torch
    import torch.nn.functional as F

    from gan.data import load_images
    from gan.metrics import fid_kid, swd
    from gan.sampling import generate, latents, load_generator

    g, cfg = load_generator(checkpoint, device=device)
    side = resolution or cfg.resolution
    reals = load_images(data_dir, side, log=log).images
    gen = torch.Generator().manual_seed(seed)
    # A small set is drawn with repeats, as training's own evaluation does.
    pick = torch.randperm(len(reals), generator=gen)[:n] if len(reals) >= n else \
        torch.randint(len(reals), (n,), generator=gen)
    real = reals[pick]
    fake = generate(g, latents(n, seed, cfg.z_dim))
    if fake.shape[-1] != side:
        fake = F.interpolate(fake.float(), size=(side, side), mode="area").round().clamp(0, 255).to(torch.uint8)
    out: dict[str, Any] = {"swd": swd(real, fake, seed=seed, device=device)["swd"]}
    if inception_weights:
        out.update(fid_kid(real, fake, inception_weights, torch.device(device), log))
    out.update(images=n, seed=seed, resolution=side)
    return out


def model_resolution(checkpoint: Path) -> int:
    from gan.checkpoint import load_state, resolve_checkpoint

    return int(load_state(resolve_checkpoint(checkpoint))["config"]["resolution"])
