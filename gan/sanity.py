"""The sanity run before a long one: overfit ~20 images for a few hundred steps.

The old habit (Karpathy's "overfit one batch"): if the setup cannot even memorise a handful of
images, a long run on the whole set is wasted. Two checks: the losses move (and stay finite), and
the generator's samples come closer to the training images than the images' own mean does — the
best a generator that learned nothing but the average could do.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from gan.config import TrainConfig
from gan.data import list_images, load_images
from gan.errors import GanError
from gan.metrics import memorization
from gan.sampling import generate, latents, load_generator
from gan.train import train


@dataclass
class SanityResult:
    passed: bool
    verdict: str  # one line, PASS or FAIL and why
    losses_moved: bool
    nearest_rms: float  # mean RMS (0..1) of each training image to its nearest sample
    mean_image_rms: float  # mean RMS of each training image to the images' mean (the baseline)
    reproduced: int  # training images with a sample within `threshold`
    images: int
    steps: int
    seconds: float


def sanity_config(cfg: TrainConfig, n: int, steps: int) -> TrainConfig:
    """The run's own loss, normalisation and LRs on a small, fast model: no augmentation or EMA
    (both fight memorisation), all images in every batch, 32 px and widths ≤ 32 on the CPU."""
    small = cfg.device == "cpu" or (cfg.device == "auto" and not torch.cuda.is_available())
    return replace(cfg, steps=steps, kimg=0, batch=n, augment="", ema_kimg=0.0,
                   resolution=min(cfg.resolution, 32) if small else cfg.resolution,
                   g_width=min(cfg.g_width, 32) if small else cfg.g_width,
                   d_width=min(cfg.d_width, 32) if small else cfg.d_width,
                   log_every=max(1, steps // 10), sample_every=steps, ckpt_every=steps, metric_every=0,
                   metric_images=64, keep_last=1)


def pick_images(data_dir: Path, n: int, folder: Path) -> int:
    """Copy `n` images spread evenly over the folder's sorted list into `folder`."""
    files = list_images(data_dir)
    chosen = [files[round(i * (len(files) - 1) / max(n - 1, 1))] for i in range(min(n, len(files)))]
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(dict.fromkeys(chosen)):
        shutil.copyfile(f, folder / f"{i:03d}{f.suffix.lower()}")
    return len(list_images(folder))


def sanity_check(cfg: TrainConfig, data_dir: Path | str, work_dir: Path | str, images: int = 20,
                 steps: int = 300, threshold: float = 0.15, log: Callable[[str], None] = lambda m: None) -> SanityResult:
    """Train `sanity_config(cfg)` on `images` images of `data_dir` inside `work_dir`; the verdict."""
    t0, work = time.monotonic(), Path(work_dir)
    n = pick_images(Path(data_dir), images, work / "images")
    if n < 2:
        raise GanError(f"the sanity run needs at least 2 readable images in {data_dir}")
    scfg = sanity_config(cfg, n, steps)
    losses = []
    result = train(scfg, work / "images", work / "run", log=log,
                   on_progress=lambda e: losses.append((e["loss_d"], e["loss_g"])) if e["event"] == "step" else None)
    reals = load_images(work / "images", scfg.resolution, log=lambda m: None).images
    g, _ = load_generator(result.checkpoint, ema=False)
    fake = generate(g, latents(64, 0, g.z_dim))
    # coverage: each training image's nearest sample (memorisation is about every image, not one mode)
    nearest = memorization(reals, fake, threshold=threshold, pairs=0)
    mean_img = reals.float().mean(0, keepdim=True).round().to(torch.uint8)
    baseline = memorization(reals, mean_img, threshold=threshold, pairs=0)["nearest_rms_mean"]
    (d0, g0), (d1, g1) = losses[0], losses[-1]
    finite = all(torch.isfinite(torch.tensor(x)).all() for x in losses)
    moved = finite and (abs(d1 - d0) > 0.05 * max(abs(d0), 0.1) or abs(g1 - g0) > 0.05 * max(abs(g0), 0.1))
    rms = nearest["nearest_rms_mean"]
    reproduced = round(nearest["memorized_fraction"] * n)
    learned = rms < 0.8 * baseline
    passed = moved and learned
    seconds = time.monotonic() - t0
    why = (f"losses {'moved' if moved else 'did not move' if finite else 'went non-finite'} "
           f"(D {d0:.2f}→{d1:.2f}, G {g0:.2f}→{g1:.2f}); nearest-sample RMS {rms:.3f} vs {baseline:.3f} for the "
           f"mean image, {reproduced}/{n} images within {threshold:g}")
    verdict = (f"sanity {'PASS' if passed else 'FAIL'}: {why}; {steps} steps on {n} images at "
               f"{scfg.resolution} px in {seconds:.0f} s")
    return SanityResult(passed, verdict, moved, rms, baseline, reproduced, n, steps, seconds)
