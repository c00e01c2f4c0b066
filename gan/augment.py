"""DiffAugment (Zhao et al. 2020): differentiable translation, cutout and colour for D's inputs,
and the adaptive augmentation probability of StyleGAN2-ADA (Karras et al. 2020) over them.

Applied identically in kind (not in draw) to real and fake images so D cannot tell them apart by
the augmentation, and differentiable so G still gets gradients. Randomness comes from an explicit
generator so a resumed run draws the same augmentations.

Augmentations touch D's inputs only: G's outputs are never augmented where they are sampled
(the grids, the evaluation and `gan.sampling` call G alone).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def diff_augment(x: torch.Tensor, ops: list[str], gen: torch.Generator | None = None,
                 p: torch.Tensor | None = None) -> torch.Tensor:
    """Each op on every image (`p` None: DiffAugment), or on each image with probability `p` (a
    0-d tensor on x's device, so the loop needs no host sync to read it: ADA)."""
    for op in ops:
        if p is None:
            x = _OPS[op](x, gen)
        else:
            keep = _rand(x, x.shape[0], 1, 1, 1, gen=gen) >= p  # (B, 1, 1, 1): True = not augmented
            x = torch.where(keep, x, _OPS[op](x, gen))
    return x


class AdaptiveP:
    """StyleGAN2-ADA's controller: every `interval` steps, p moves by
    sign(E[sign(D(real))] - target) * batch * interval / (kimg * 1000), clipped to [0, 1], so
    p can go from 0 to 1 in `kimg` thousand images when D keeps overfitting (its logits on reals
    mostly positive) and falls back when it stops. Everything stays on the device (no host sync):
    `p` is a 0-d tensor; `accumulate` adds one step's logits on reals."""

    def __init__(self, target: float, interval: int, kimg: float, batch: int, device: torch.device):
        self.target, self.interval, self.kimg, self.batch = target, interval, kimg, batch
        self.p = torch.zeros((), device=device)
        self.acc = torch.zeros(2, device=device)  # sum of sign(D(real)), count
        self.signal = torch.zeros((), device=device)  # the last interval's E[sign(D(real))]
        self.steps = 0  # steps accumulated since the last adjustment

    def accumulate(self, real_logits: torch.Tensor, reduce=None) -> None:
        """Add a step's D logits on reals; adjust p at the end of each interval. `reduce` sums a
        tensor over the processes (torchrun) so every rank keeps the same p."""
        with torch.no_grad():
            s = real_logits.detach().float()
            self.acc += torch.stack([torch.sign(s).sum(), s.new_full((), float(s.numel()))])
            self.steps += 1
            if self.steps < self.interval:
                return
            acc = reduce(self.acc.clone()) if reduce else self.acc
            self.signal = acc[0] / acc[1].clamp_min(1)
            step = self.batch * self.interval / (self.kimg * 1000)
            self.p = (self.p + torch.sign(self.signal - self.target) * step).clamp(0, 1)
            self.acc.zero_()
            self.steps = 0

    def state(self) -> dict:
        return {"p": self.p.detach().cpu().clone(), "acc": self.acc.detach().cpu().clone(),
                "signal": self.signal.detach().cpu().clone(), "steps": self.steps}

    def load(self, state: dict) -> None:
        dev = self.p.device
        self.p = state["p"].to(dev).clone()
        self.acc = state["acc"].to(dev).clone()
        self.signal = state["signal"].to(dev).clone()
        self.steps = int(state["steps"])


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
