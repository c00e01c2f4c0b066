"""The sanity run before a long one: overfit ~20 images for a few hundred steps.

The old habit (Karpathy's "overfit one batch"): if the setup cannot even memorise a handful of
images, a long run on the whole set is wasted. Two checks: the adversarial losses move (and stay
finite) over a few hundred steps of the real loop, and the generator, fitted alone (one fixed
latent per image, pixel MSE), reproduces every image. A DCGAN's adversarial game rarely memorises
20 images in a few hundred steps (measured: docs/training.md), so memorisation is checked directly.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from gan.config import TrainConfig
from gan.data import list_images, load_images
from gan.errors import GanError
from gan.models import build_models
from gan.sampling import latents
from gan.train import train


@dataclass
class SanityResult:
    passed: bool
    verdict: str  # one line, PASS or FAIL and why
    losses_moved: bool
    fit_rms: float  # mean RMS (0..1) of each image to G's fit of it
    mean_image_rms: float  # mean RMS of each training image to the images' mean (for scale)
    reproduced: int  # images G reproduced within `threshold`
    images: int
    steps: int
    seconds: float


def sanity_config(cfg: TrainConfig, n: int, steps: int) -> TrainConfig:
    """The run's own loss, normalisation and LRs on a small, fast model: no augmentation or EMA
    (both fight memorisation), all images in every batch, 32 px and widths ≤ 32 on the CPU."""
    small = cfg.device == "cpu" or (cfg.device == "auto" and not torch.cuda.is_available())
    return replace(cfg, steps=steps, kimg=0, batch=n, augment="", ada_target=0.0, ema_kimg=0.0,
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


def fit_generator(cfg: TrainConfig, images: torch.Tensor, steps: int, lr: float = 2e-3) -> torch.Tensor:
    """Memorisation by G alone: a fresh G of the run's shape fitted by pixel MSE to map one fixed
    latent per image to that image (GLO, Bojanowski et al. 2018). Returns each image's RMS (0..1)."""
    torch.manual_seed(cfg.seed)
    g, _ = build_models(cfg)
    z = latents(len(images), cfg.seed, cfg.z_dim)
    x = images.float() / 127.5 - 1
    opt = torch.optim.Adam(g.parameters(), lr=lr, betas=(0.5, 0.999))
    g.train()
    for _ in range(steps):
        loss = (g(z) - x).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with torch.no_grad():
        return ((g(z) - x) / 2).pow(2).flatten(1).mean(1).sqrt()


def sanity_check(cfg: TrainConfig, data_dir: Path | str, work_dir: Path | str, images: int = 20,
                 steps: int = 300, threshold: float = 0.1, log: Callable[[str], None] = lambda m: None) -> SanityResult:
    """Train `sanity_config(cfg)` on `images` images of `data_dir` inside `work_dir` (losses must
    move and stay finite), and fit G alone to them (it must reproduce them); the verdict."""
    t0, work = time.monotonic(), Path(work_dir)
    n = pick_images(Path(data_dir), images, work / "images")
    if n < 2:
        raise GanError(f"the sanity run needs at least 2 readable images in {data_dir}")
    scfg = sanity_config(cfg, n, steps)
    losses = []
    train(scfg, work / "images", work / "run", log=log,
          on_progress=lambda e: losses.append((e["loss_d"], e["loss_g"])) if e["event"] == "step" else None)
    reals = load_images(work / "images", scfg.resolution, log=lambda m: None).images
    rms = fit_generator(scfg, reals, steps)
    mean_img = reals.float().mean(0, keepdim=True)
    baseline = float(((reals.float() - mean_img) / 255).pow(2).flatten(1).mean(1).sqrt().mean())
    (d0, g0), (d1, g1) = losses[0], losses[-1]
    finite = all(torch.isfinite(torch.tensor(x)).all() for x in losses) and bool(torch.isfinite(rms).all())
    moved = finite and (abs(d1 - d0) > 0.05 * max(abs(d0), 0.1) or abs(g1 - g0) > 0.05 * max(abs(g0), 0.1))
    reproduced = int((rms < threshold).sum())
    passed = moved and reproduced == n
    seconds = time.monotonic() - t0
    why = (f"GAN losses {'moved' if moved else 'did not move' if finite else 'went non-finite'} "
           f"(D {d0:.2f}→{d1:.2f}, G {g0:.2f}→{g1:.2f}); G alone reproduced {reproduced}/{n} images within RMS "
           f"{threshold:g} (mean {float(rms.mean()):.3f}; the mean image: {baseline:.3f})")
    verdict = (f"sanity {'PASS' if passed else 'FAIL'}: {why}; {steps} steps on {n} images at "
               f"{scfg.resolution} px in {seconds:.0f} s")
    return SanityResult(passed, verdict, moved, float(rms.mean()), baseline, reproduced, n, steps, seconds)


def sanity_check_in(cfg: TrainConfig, data_dir: Path | str, parent: Path | str | None = None,
                    **kw) -> SanityResult:
    """`sanity_check` in a temporary folder under `parent` (a workspace), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=".sanity-", dir=parent) as tmp:
        return sanity_check(cfg, data_dir, tmp, **kw)
