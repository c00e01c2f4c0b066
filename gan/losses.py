"""GAN losses on D's logits, and the zero-centred gradient penalties (R1 on reals, R2 on fakes).

Losses: non-saturating (the DCGAN paper's BCE), hinge, and the relativistic pairing loss of
RpGAN / R3GAN (Jolicoeur-Martineau 2018; Huang et al. 2024), which scores each real against a
fake: D minimises softplus(-(D(real) - D(fake))), G minimises softplus(-(D(fake) - D(real))).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def d_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    real, fake = real.float(), fake.float()  # loss math in fp32 even under bf16 autocast
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    if kind == "rpgan":
        return F.softplus(-(real - fake)).mean()
    return F.softplus(-real).mean() + F.softplus(fake).mean()  # = BCE(real, 1) + BCE(fake, 0)


def g_loss(kind: str, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
    """G's loss; `real` (D's logits on reals, no gradient needed) only for the pairing loss."""
    fake = fake.float()
    if kind == "hinge":
        return -fake.mean()
    if kind == "rpgan":
        return F.softplus(-(fake - real.float().detach())).mean()
    return F.softplus(-fake).mean()  # non-saturating: maximise log D(G(z))


def needs_reals_for_g(kind: str) -> bool:
    return kind == "rpgan"


def gradient_penalty(d, x: torch.Tensor) -> torch.Tensor:
    """Zero-centred gradient penalty E_x |grad_x D(x)|^2 (Mescheder et al. 2018): zero exactly
    when D is flat at the samples, whatever its value there. `x` is D's input (augmented, as D
    sees it); differentiable w.r.t. D's parameters (create_graph)."""
    x = x.detach().float().requires_grad_(True)
    logits = d(x).float()
    (grad,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
    return grad.square().sum(dim=[1, 2, 3]).mean()


def gamma_at(gamma: float, step: int, total: int, end: float) -> float:
    """`gamma` on a cosine schedule from 1 to `end` of itself over `total` steps (R3GAN decays
    its gamma over training; `end` = 1 keeps it constant)."""
    if end >= 1 or total <= 1:
        return gamma
    t = min(max(step / (total - 1), 0.0), 1.0)
    return gamma * (end + (1 - end) * 0.5 * (1 + math.cos(math.pi * t)))
