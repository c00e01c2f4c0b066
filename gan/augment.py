"""DiffAugment (Zhao et al. 2020): differentiable translation, cutout and colour for D's inputs.

Applied identically in kind (not in draw) to real and fake images so D cannot tell them apart by
the augmentation, and differentiable so G still gets gradients. Randomness comes from an explicit
generator so a resumed run draws the same augmentations.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def diff_augment(x: torch.Tensor, ops: list[str], gen: torch.Generator | None = None) -> torch.Tensor:
    for op in ops:
        x = _OPS[op](x, gen)
    return x


def _rand(x: torch.Tensor, *shape: int, gen=None) -> torch.Tensor:
    return torch.rand(*shape, device=x.device, generator=gen, dtype=torch.float32)


def color(x: torch.Tensor, gen=None) -> torch.Tensor:
    b = x.shape[0]
    x = x + (_rand(x, b, 1, 1, 1, gen=gen) - 0.5).to(x.dtype)  # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(x, b, 1, 1, 1, gen=gen) * 2).to(x.dtype) + mean  # saturation
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (_rand(x, b, 1, 1, 1, gen=gen) + 0.5).to(x.dtype) + mean  # contrast


def translation(x: torch.Tensor, gen=None, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to `ratio` of its side, filling with zeros (a gather, no loop)."""
    b, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    tx = (_rand(x, b, 1, 1, gen=gen) * (2 * sh + 1)).long() - sh
    ty = (_rand(x, b, 1, 1, gen=gen) * (2 * sw + 1)).long() - sw
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij")
    gy = (gy.unsqueeze(0) + tx + 1).clamp(0, h + 1)  # (B, H, W) indices into the padded image
    gx = (gx.unsqueeze(0) + ty + 1).clamp(0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1])  # the zero border is what shifted-in pixels read
    idx = (gy * (w + 2) + gx).view(b, 1, h * w).expand(-1, x.shape[1], -1)
    return padded.flatten(2).gather(2, idx).view_as(x)


def cutout(x: torch.Tensor, gen=None, ratio: float = 0.5) -> torch.Tensor:
    """Zero one square of `ratio` of the side at a random place in each image."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    oy = (_rand(x, b, 1, 1, gen=gen) * (h + 1 - ch % 2)).long()
    ox = (_rand(x, b, 1, 1, gen=gen) * (w + 1 - cw % 2)).long()
    gy = torch.arange(h, device=x.device).view(1, h, 1)
    gx = torch.arange(w, device=x.device).view(1, 1, w)
    y0, x0 = oy - ch // 2, ox - cw // 2  # top-left corner; may lie outside (partial cutout)
    inside = (gy >= y0) & (gy < y0 + ch) & (gx >= x0) & (gx < x0 + cw)  # (B, H, W)
    return x * (~inside).unsqueeze(1).to(x.dtype)


_OPS = {"color": color, "translation": translation, "cutout": cutout}
