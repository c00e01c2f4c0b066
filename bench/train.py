"""Training throughput: our trainer vs a pytorch/examples-style reference loop, same model and device.

The reference reads image files through a torchvision ImageFolder DataLoader (decode, resize,
normalise per step), runs fp32, batch 64, the paper's DCGAN. Ours runs `gan.train` on the same
folder (uint8 cache on the device, bf16 + channels_last + torch.compile on CUDA).
Prints img/s of both and the ratio.

    python bench/train.py [--resolution 64] [--steps 30] [--batch 64] [--device auto] [--images 512]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gan.config import TrainConfig
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


def reference(data: Path, cfg: TrainConfig, device, steps: int, workers: int) -> float:
    """pytorch/examples/dcgan/main.py's loop, fp32, files via DataLoader."""
    import torchvision.datasets as dset
    import torchvision.transforms as T

    tf = T.Compose([T.Resize(cfg.resolution), T.CenterCrop(cfg.resolution), T.ToTensor(),
                    T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
    loader = torch.utils.data.DataLoader(dset.ImageFolder(str(data), tf), batch_size=cfg.batch, shuffle=True,
                                         num_workers=workers, drop_last=True, persistent_workers=workers > 0)
    torch.manual_seed(0)
    netG, netD = (m.to(device) for m in build_models(cfg))
    crit = torch.nn.BCEWithLogitsLoss()
    optD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    done, t0, warm = 0, None, 3
    while done < steps + warm:
        for real, _ in loader:
            if done == warm:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
            real = real.to(device)
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
            done += 1
            if done >= steps + warm:
                break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * cfg.batch / (time.perf_counter() - t0)


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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--our-batch", type=int, default=0, help="batch of our trainer (default: --batch)")
    p.add_argument("--device", default="auto")
    p.add_argument("--images", type=int, default=512)
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args()
    device = pick_device(a.device)
    root = Path(tempfile.mkdtemp(prefix="bench-train-"))
    try:
        data = make_folder(root, a.images, a.resolution * 2)
        cfg = TrainConfig(resolution=a.resolution, batch=a.batch, device=str(device))
        ref = reference(data, cfg, device, a.steps, a.workers)
        cfg_ours = TrainConfig(resolution=a.resolution, batch=a.our_batch or a.batch, device=str(device))
        mine = ours(data, cfg_ours, root, a.steps)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{platform.processor() or platform.machine()} ({torch.get_num_threads()} threads)"
    print(f"device      {name}, torch {torch.__version__}")
    print(f"setting     {a.resolution} px DCGAN, {a.steps} timed steps, reference batch {a.batch}, ours batch {cfg_ours.batch}")
    print(f"reference   {ref:10.1f} img/s   (files via DataLoader, fp32)")
    print(f"ours        {mine:10.1f} img/s   (uint8 cache on device"
          + (", bf16, channels_last, compile)" if device.type == "cuda" else ", fp32 on CPU)"))
    print(f"ratio       {mine / ref:10.2f}x")


if __name__ == "__main__":
    main()
