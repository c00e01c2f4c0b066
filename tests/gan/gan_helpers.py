"""Helpers of the gan tests: generated + real images, a tiny training config."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


def make_images(folder, n: int = 40, seed: int = 0) -> None:
    """Coloured shapes on coloured backgrounds, plus three real photos from skimage.data."""
    from skimage import data

    rng = np.random.default_rng(seed)
    (folder / "shapes").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        im = Image.new("RGB", (int(rng.integers(40, 90)), int(rng.integers(40, 90))),
                       tuple(int(c) for c in rng.integers(0, 256, 3)))
        draw = ImageDraw.Draw(im)
        x, y = (int(v) for v in rng.integers(0, 30, 2))
        shape = draw.ellipse if i % 2 else draw.rectangle
        shape([x, y, x + 20, y + 16], fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
        im.save(folder / "shapes" / f"{i:03d}.png")
    for name in ("astronaut", "chelsea", "coffee"):
        Image.fromarray(getattr(data, name)()).save(folder / f"{name}.jpg", quality=90)


def tiny(**kw):
    from gan.config import TrainConfig

    base = dict(resolution=32, steps=4, batch=8, g_width=8, d_width=8, log_every=2, sample_every=2,
                ckpt_every=2, metric_every=0, metric_images=64, keep_last=2, device="cpu")
    base.update(kw)
    return TrainConfig(**base)


def varied_generator(z_dim: int = 16, width: int = 16, resolution: int = 32):
    """A 32 px DCGAN G (paper init) whose images clearly depend on z, in eval mode.

    A few training steps leave G's BatchNorm statistics far from its activations, so its images
    barely change with z; here the statistics are set from 512 latents instead (cumulative
    average), which makes different z give clearly different images — what projection and
    completion tests need to tell "found z*" from "any z".
    """
    import torch

    from gan.models import Generator, init_weights
    from gan.sampling import latents

    torch.manual_seed(0)
    g = Generator(resolution, z_dim, width)
    init_weights(g)
    for m in g.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # cumulative average over the calibration batch
            m.reset_running_stats()
    with torch.no_grad():
        g.train()(latents(512, 1, z_dim))
    return g.eval().requires_grad_(False)
