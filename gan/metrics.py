"""Quality metrics: SWD (always), FID/KID (when Inception weights are configured), memorisation.

SWD follows Karras et al. 2018 (progressive GAN, appendix D): 7x7 patches from each level of a
Laplacian pyramid (down to 16 px), normalised per set and channel, compared by the sliced
Wasserstein distance along 4 x 128 random directions (their code's values). Reported x1e3 per
level and averaged; lower is better. Values compare only at equal image counts (small sets bias
SWD upwards), so a run's evaluations, and the pipeline's gate, always use one count.
All functions take uint8 images (N, 3, R, R).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

_KERNEL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
_KERNEL = (_KERNEL[:, None] * _KERNEL[None, :]) / 256.0


def _blur(x: torch.Tensor) -> torch.Tensor:
    k = _KERNEL.to(x).expand(x.shape[1], 1, 5, 5)
    return F.conv2d(F.pad(x, [2, 2, 2, 2], mode="reflect"), k, groups=x.shape[1])


def laplacian_pyramid(x: torch.Tensor, min_size: int = 16) -> list[torch.Tensor]:
    """Band-pass levels from the full resolution down, then the low-pass residual at `min_size`."""
    levels = []
    while x.shape[-1] > min_size:
        down = _blur(x)[..., ::2, ::2]
        up = F.interpolate(down, scale_factor=2, mode="nearest")
        levels.append(x - _blur(up))
        x = down
    levels.append(x)
    return levels


def _patches(level: torch.Tensor, per_image: int, gen: torch.Generator) -> torch.Tensor:
    """(N * per_image, 3 * 7 * 7) random 7x7 patches."""
    n, _c, h, w = level.shape
    ys = torch.randint(0, h - 6, (n, per_image), generator=gen)
    xs = torch.randint(0, w - 6, (n, per_image), generator=gen)
    off = torch.arange(7)
    rows = (ys[..., None] + off).to(level.device)  # (N, P, 7)
    cols = (xs[..., None] + off).to(level.device)
    img = torch.arange(n, device=level.device).view(n, 1, 1, 1)
    p = level.permute(0, 2, 3, 1)[img, rows[..., :, None], cols[..., None, :]]  # (N, P, 7, 7, C)
    return p.reshape(n * per_image, -1)


def _normalise(d: torch.Tensor) -> torch.Tensor:
    d = d.view(d.shape[0], 7, 7, 3)
    d = (d - d.mean(dim=(0, 1, 2))) / d.std(dim=(0, 1, 2)).clamp_min(1e-8)
    return d.reshape(d.shape[0], -1)


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, dirs: int = 128, repeats: int = 4,
                       gen: torch.Generator | None = None) -> float:
    """Mean 1-D Wasserstein distance of `a` and `b` (descriptor rows) along `repeats` x `dirs`
    random unit directions; Karras et al.'s values (4 x 128)."""
    total = 0.0
    for _ in range(repeats):
        proj = torch.randn(a.shape[1], dirs, generator=gen).to(a.device)
        proj /= proj.norm(dim=0, keepdim=True)
        pa, pb = _sorted_rows(proj.T @ a.T), _sorted_rows(proj.T @ b.T)  # (dirs, N)
        total += (pa - pb).abs().mean().item()
    return total / repeats


def _sorted_rows(x: torch.Tensor) -> torch.Tensor:
    """Each row sorted. The sorts are most of SWD's time on the CPU: there numpy's sort (several
    times faster than torch's) runs on blocks of rows in parallel threads (it releases the GIL)."""
    if x.device.type != "cpu":
        return torch.sort(x, dim=1).values
    a = x.numpy()
    out = np.empty_like(a)
    blocks = np.array_split(np.arange(len(a)), max(1, min(torch.get_num_threads(), len(a))))

    def sort_block(rows: np.ndarray) -> None:
        if len(rows):
            out[rows[0]:rows[-1] + 1] = np.sort(a[rows[0]:rows[-1] + 1], axis=1)

    with ThreadPoolExecutor(len(blocks)) as pool:
        list(pool.map(sort_block, blocks))
    return torch.from_numpy(out)


@torch.no_grad()
def swd(real: torch.Tensor, fake: torch.Tensor, patches_per_image: int = 128, seed: int = 0,
        device: str | torch.device = "cpu") -> dict[str, Any]:
    """Sliced Wasserstein distance between two sets of uint8 images (same count is best)."""
    n = min(len(real), len(fake))
    gen = torch.Generator().manual_seed(seed)
    per_level: list[float] = []
    lr = laplacian_pyramid(real[:n].to(device).float())
    lf = laplacian_pyramid(fake[:n].to(device).float())
    for a, b in zip(lr, lf, strict=True):
        da = _normalise(_patches(a, patches_per_image, gen))
        db = _normalise(_patches(b, patches_per_image, gen))
        per_level.append(sliced_wasserstein(da, db, gen=gen) * 1e3)
    return {"swd": sum(per_level) / len(per_level), "swd_levels": per_level}


def fid_kid(real: torch.Tensor, fake: torch.Tensor, weights_path: str, device: torch.device,
            log: Callable[[str], None] = print, state: dict[str, torch.Tensor] | None = None) -> dict[str, float]:
    """FID and KID by torch-fidelity from a local Inception weights file; {} when unavailable.

    The file is read without unpickling code (gan.inception); `state` gives the weights directly.
    Never raises for a bad file or a failing extractor: one line through `log`, and {} (the run
    keeps its SWD, its checkpoints and its gate)."""
    if state is None:
        if not weights_path:
            return {}
        if not Path(weights_path).is_file():
            log(f"FID/KID skipped: no Inception weights file at {weights_path}")
            return {}
    try:
        import torch_fidelity
    except ImportError:
        log("FID/KID skipped: torch-fidelity is not installed")
        return {}
    from gan.errors import GanError
    from gan.inception import load_inception_weights, register

    class _Set(torch.utils.data.Dataset):
        def __init__(self, x):
            self.x = x

        def __len__(self):
            return len(self.x)

        def __getitem__(self, i):
            return self.x[i]

    n = min(len(real), len(fake))
    try:
        extractor = register(state if state is not None else load_inception_weights(weights_path))
        out = torch_fidelity.calculate_metrics(
            input1=_Set(fake[:n].cpu()), input2=_Set(real[:n].cpu()), fid=True, kid=True,
            kid_subset_size=min(1000, n), feature_extractor=extractor,
            cuda=device.type == "cuda", verbose=False, cache=False,
            save_cpu_ram=True,  # no DataLoader worker processes forked from the training process
        )
    except GanError as exc:
        log(f"FID/KID skipped: {exc}")
        return {}
    except Exception as exc:  # wrong shapes in the file, out of memory, ...: lose FID, not the run
        first = (str(exc).strip().splitlines() or [""])[0][:160]
        log(f"FID/KID skipped: the Inception network failed ({type(exc).__name__}: {first})")
        return {}
    return {"fid": float(out["frechet_inception_distance"]), "kid": float(out["kernel_inception_distance_mean"])}


@torch.no_grad()
def memorization(fake: torch.Tensor, train: torch.Tensor, threshold: float, side: int = 32,
                 device: str | torch.device = "cpu", pairs: int = 8) -> dict[str, Any]:
    """Nearest training image of each generated one (RMS pixel distance in [0, 1] at `side` px).

    Returns the fraction closer than `threshold` and the closest (fake, train) index pairs.
    """
    def small(x):
        x = x.to(device).float() / 255
        return F.interpolate(x, size=(side, side), mode="area").flatten(1) if x.shape[-1] > side else x.flatten(1)

    f = small(fake)
    best_d = torch.full((len(f),), float("inf"), device=device)
    best_i = torch.zeros(len(f), dtype=torch.long, device=device)
    for start in range(0, len(train), 4096):  # chunks keep the distance matrix small
        t = small(train[start:start + 4096])
        d, i = torch.cdist(f, t).min(dim=1)
        better = d < best_d
        best_d = torch.where(better, d, best_d)
        best_i = torch.where(better, i + start, best_i)
    rms = best_d / f.shape[1] ** 0.5
    order = rms.argsort()[:pairs]
    return {
        "memorized_fraction": (rms < threshold).float().mean().item(),
        "nearest_rms_mean": rms.mean().item(),
        "closest_pairs": [(int(j), int(best_i[j]), float(rms[j])) for j in order],
    }
