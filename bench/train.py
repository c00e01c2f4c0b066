"""Training throughput: our trainer vs a pytorch/examples-style reference loop, same model and device.

The reference reads image files through a torchvision ImageFolder DataLoader (decode, resize,
normalise per step), runs fp32, batch 64, the paper's DCGAN. Ours runs `gan.train` on the same
folder with the studio's defaults (loss, penalties, adaptive augmentation, EMA: docs/training.md;
uint8 cache on the device, bf16 + channels_last + torch.compile on CUDA), so its img/s is what a
user gets; the reference keeps the paper's networks (`paper_dcgan`) whatever the defaults.

Prints, for each loop: img/s, the per-step split into data time (waiting for the batch) and compute
time (the rest of the step), and the data pipeline's own ceiling (img/s of the data path alone,
no model) — the most the loop could reach on an infinitely fast accelerator.

    python bench/train.py [--resolution 64 32] [--steps 30] [--batch 64] [--device auto] [--images 512]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gan.config import TrainConfig
from gan.data import DeviceSampler, fits_on_device, load_images
from gan.models import build_models
from gan.train import pick_device, train


def make_folder(root: Path, n: int, side: int) -> Path:
    """`n` random-noise JPEGs of `side` px in an ImageFolder layout (one class folder)."""
    folder = root / "images" / "all"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(folder / f"{i}.jpg", quality=90)
    return root / "images"


def _loader(data: Path, cfg: TrainConfig, workers: int):
    import torchvision.datasets as dset
    import torchvision.transforms as T

    tf = T.Compose([T.Resize(cfg.resolution), T.CenterCrop(cfg.resolution), T.ToTensor(),
                    T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
    return torch.utils.data.DataLoader(dset.ImageFolder(str(data), tf), batch_size=cfg.batch, shuffle=True,
                                       num_workers=workers, drop_last=True, persistent_workers=workers > 0)


def _sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def paper_dcgan(cfg: TrainConfig) -> TrainConfig:
    """`cfg` with the paper's networks whatever the studio's defaults are: D with BatchNorm, no
    spectral norm (the reference loop is pytorch/examples', not the studio's)."""
    return replace(cfg, d_norm="batch", spectral_norm=False, r1_gamma=0.0, r2_gamma=0.0)


def reference(data: Path, cfg: TrainConfig, device, steps: int, workers: int) -> dict[str, float]:
    """pytorch/examples/dcgan/main.py's loop, fp32, files via DataLoader; img/s and the split of a
    step into data (waiting for the next batch and copying it) and compute (everything else)."""
    loader = _loader(data, cfg, workers)
    torch.manual_seed(0)
    netG, netD = (m.to(device) for m in build_models(paper_dcgan(cfg)))
    crit = torch.nn.BCEWithLogitsLoss()
    optD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    done, warm, t_data, t_all = 0, 3, 0.0, 0.0
    while done < steps + warm:
        it = iter(loader)
        while done < steps + warm:
            _sync(device)
            t0 = time.perf_counter()
            try:
                real, _ = next(it)
            except StopIteration:
                break
            real = real.to(device)
            _sync(device)
            t1 = time.perf_counter()
            b = real.size(0)
            netD.zero_grad()
            errD_real = crit(netD(real), torch.ones(b, device=device))
            errD_real.backward()
            fake = netG(torch.randn(b, cfg.z_dim, device=device))
            errD_fake = crit(netD(fake.detach()), torch.zeros(b, device=device))
            errD_fake.backward()
            optD.step()
            netG.zero_grad()
            errG = crit(netD(fake), torch.ones(b, device=device))
            errG.backward()
            optG.step()
            _ = errD_real.item(), errD_fake.item(), errG.item()  # the example prints these every step
            t2 = time.perf_counter()
            if done >= warm:
                t_data, t_all = t_data + (t1 - t0), t_all + (t2 - t0)
            done += 1
    return {"img_s": steps * cfg.batch / t_all, "data_ms": 1e3 * t_data / steps,
            "compute_ms": 1e3 * (t_all - t_data) / steps}


def reference_data_ceiling(data: Path, cfg: TrainConfig, workers: int, batches: int) -> float:
    """img/s of the DataLoader alone (decode, resize, crop, normalise in `workers` processes)."""
    loader = _loader(data, cfg, workers)
    n, t0 = 0, None
    while n < batches + 1:
        for _ in loader:
            if t0 is None:
                t0 = time.perf_counter()  # after the first batch: workers started
            n += 1
            if n >= batches + 1:
                break
    return batches * cfg.batch / (time.perf_counter() - t0)


def ours_data_ceiling(data: Path, cfg: TrainConfig, device, batches: int) -> float:
    """img/s of our data path alone: DeviceSampler.sample (index, flip, scale) on the cache."""
    images = load_images(data, cfg.resolution, lambda m: None).images  # the cache train() wrote
    sampler = DeviceSampler(images, device, fits_on_device(images, device, cfg.data_on_device), seed=0)
    sampler.sample(cfg.batch)
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(batches):
        sampler.sample(cfg.batch)
    _sync(device)
    return batches * cfg.batch / (time.perf_counter() - t0)


def ours(data: Path, cfg: TrainConfig, root: Path, steps: int) -> float:
    """gan.train; img/s averaged over the log windows after the first (warm-up, compile)."""
    rates = []
    cfg.steps, cfg.log_every = steps, max(1, steps // 6)
    cfg.sample_every = cfg.ckpt_every = 10**9
    cfg.metric_every, cfg.metric_images = 0, 64
    train(cfg, data, root / "run", on_progress=lambda e: rates.append(e["img_per_s"]) if e["event"] == "step" else None,
          log=lambda m: None)
    steady = rates[1:-1] or rates
    return sum(steady) / len(steady)


def bench_resolution(a, device, resolution: int) -> dict[str, dict[str, float]]:
    root = Path(tempfile.mkdtemp(prefix="bench-train-"))
    try:
        data = make_folder(root, a.images, resolution * 2)
        cfg = TrainConfig(resolution=resolution, batch=a.batch, device=str(device))
        ref = reference(data, cfg, device, a.steps, a.workers)
        ref["ceiling"] = reference_data_ceiling(data, cfg, a.workers, a.ceiling_batches)
        cfg_ours = TrainConfig(resolution=resolution, batch=a.our_batch or a.batch, device=str(device))
        img_s = ours(data, cfg_ours, root, a.steps)
        ceiling = ours_data_ceiling(data, cfg_ours, device, a.ceiling_batches)
        step_ms = 1e3 * cfg_ours.batch / img_s
        data_ms = 1e3 * cfg_ours.batch / ceiling  # the sampler's cost per step, measured alone
        mine = {"img_s": img_s, "data_ms": data_ms, "compute_ms": step_ms - data_ms, "ceiling": ceiling}
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"reference": ref, "ours": mine, "batches": {"reference": a.batch, "ours": cfg_ours.batch}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--resolution", type=int, nargs="+", default=[64], help="one row per resolution, e.g. 64 32")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--our-batch", type=int, default=0, help="batch of our trainer (default: --batch)")
    p.add_argument("--device", default="auto")
    p.add_argument("--images", type=int, default=512)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--ceiling-batches", type=int, default=20, help="batches timed for the data-alone ceilings")
    a = p.parse_args()
    device = pick_device(a.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else \
        f"{platform.processor() or platform.machine()} ({torch.get_num_threads()} threads, {os.cpu_count()} cores)"
    print(f"device      {name}, torch {torch.__version__}; {a.steps} timed steps, {a.workers} DataLoader workers")
    ours_how = "uint8 cache on device" + (", bf16, channels_last, compile" if device.type == "cuda" else ", fp32")
    print(f"{'loop':<10} {'px':>4} {'batch':>5} {'img/s':>9} {'data ms/step':>13} {'compute ms/step':>16}"
          f" {'data-alone img/s':>17}")
    for res in a.resolution:
        r = bench_resolution(a, device, res)
        for loop, how in (("reference", "files via DataLoader, fp32"), ("ours", ours_how)):
            m = r[loop]
            print(f"{loop:<10} {res:>4} {r['batches'][loop]:>5} {m['img_s']:>9.1f} {m['data_ms']:>13.1f}"
                  f" {m['compute_ms']:>16.1f} {m['ceiling']:>17.0f}   ({how})")
        print(f"{'ratio':<10} {res:>4} {'':>5} {r['ours']['img_s'] / r['reference']['img_s']:>8.2f}x")


if __name__ == "__main__":
    main()
