"""The DCGAN generator and discriminator (Radford et al. 2015), depth following the resolution.

At 64 px both are exactly the paper's networks (pytorch/examples dcgan): G is transposed
convolutions with BatchNorm and ReLU, D strided convolutions with BatchNorm and LeakyReLU(0.2) (BatchNorm left out under spectral
norm or a gradient penalty: `TrainConfig.d_batchnorm`),
weights drawn from N(0, 0.02). Each doubling of the resolution adds one layer to both.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn

MAX_MULT = 8  # channel multiplier cap (paper: 8 at 64 px); keeps 128/256 px networks sane


def _layers(resolution: int) -> int:
    """Up/down-sampling layers between 4x4 and the image: 4 at 64 px."""
    return int(math.log2(resolution)) - 2


class Generator(nn.Module):
    """z (B, z_dim) -> image (B, 3, R, R) in [-1, 1]."""

    def __init__(self, resolution: int = 64, z_dim: int = 100, width: int = 64):
        super().__init__()
        n = _layers(resolution)
        mults = [min(2 ** (n - 1 - i), MAX_MULT) for i in range(n)]  # 64 px: 8, 4, 2, 1
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim, width * mults[0], 4, 1, 0, bias=False),  # (B, 8w, 4, 4)
            nn.BatchNorm2d(width * mults[0]),
            nn.ReLU(True),
        ]
        for a, b in itertools.pairwise(mults):  # each doubles H and W
            layers += [nn.ConvTranspose2d(width * a, width * b, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(width * b), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(width * mults[-1], 3, 4, 2, 1, bias=False), nn.Tanh()]  # (B, 3, R, R)
        self.main = nn.Sequential(*layers)
        self.z_dim = z_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z.view(z.shape[0], -1, 1, 1))


class Discriminator(nn.Module):
    """image (B, 3, R, R) -> logit (B,); `features` gives the last hidden layer (B, F)."""

    def __init__(self, resolution: int = 64, width: int = 64, spectral_norm: bool = False,
                 batchnorm: bool | None = None):
        super().__init__()
        batchnorm = not spectral_norm if batchnorm is None else batchnorm
        n = _layers(resolution)
        mults = [min(2**i, MAX_MULT) for i in range(n)]  # 64 px: 1, 2, 4, 8
        layers: list[nn.Module] = [nn.Conv2d(3, width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        for a, b in itertools.pairwise(mults):  # each halves H and W
            layers.append(nn.Conv2d(width * a, width * b, 4, 2, 1, bias=False))
            if batchnorm:  # SN (Miyato et al.) and gradient penalties (R3GAN) go without it
                layers.append(nn.BatchNorm2d(width * b))
            layers.append(nn.LeakyReLU(0.2, True))
        self.body = nn.Sequential(*layers)  # (B, 8w, 4, 4)
        self.head = nn.Conv2d(width * mults[-1], 1, 4, 1, 0, bias=False)  # (B, 1, 1, 1)
        init_weights(self)  # before spectral_norm wraps the weights
        if spectral_norm:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.utils.parametrizations.spectral_norm(m)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x)).flatten()


def init_weights(module: nn.Module) -> None:
    """The DCGAN init: conv weights ~ N(0, 0.02), BatchNorm scale ~ N(1, 0.02), shift 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def build_models(cfg) -> tuple[Generator, Discriminator]:
    """G and D for a TrainConfig (weights initialised from the current torch RNG)."""
    g = Generator(cfg.resolution, cfg.z_dim, cfg.g_width)
    init_weights(g)
    return g, build_discriminator(cfg)


def build_discriminator(cfg) -> Discriminator:
    """D for a TrainConfig: BatchNorm or none as `cfg.d_batchnorm()` says."""
    return Discriminator(cfg.resolution, cfg.d_width, cfg.spectral_norm, cfg.d_batchnorm())
