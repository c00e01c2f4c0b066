import pytest
import torch

from gan.augment import diff_augment
from gan.models import Discriminator, Generator, init_weights


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_64px_is_the_papers_dcgan():
    g, d = Generator(64), Discriminator(64)
    assert n_params(g) == 3_576_704 and n_params(d) == 2_765_568  # pytorch/examples dcgan, nz=100
    convs = [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [c.out_channels for c in convs] == [512, 256, 128, 64, 3]


@pytest.mark.parametrize("res", [32, 64, 128, 256])
def test_depth_follows_resolution(res):
    g, d = Generator(res, 16, 4), Discriminator(res, 4)
    x = g(torch.randn(2, 16))
    assert x.shape == (2, 3, res, res) and x.abs().max() <= 1
    assert d(x).shape == (2,)
    n_up = sum(isinstance(m, torch.nn.ConvTranspose2d) for m in g.modules())
    assert n_up == {32: 4, 64: 5, 128: 6, 256: 7}[res]


def test_init_is_normal_002():
    g = Generator(64)
    init_weights(g)
    w = torch.cat([m.weight.flatten() for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)])
    assert abs(w.std().item() - 0.02) < 0.001 and abs(w.mean().item()) < 0.001


def test_spectral_norm_bounds_d_weights():
    d = Discriminator(32, 8, spectral_norm=True)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules())
    d(torch.randn(4, 3, 32, 32))  # one power iteration in training mode
    conv = d.body[0]
    sigma = torch.linalg.matrix_norm(conv.weight.flatten(1), ord=2)
    assert sigma < 1.5


def test_diffaugment_is_differentiable_and_random():
    x = torch.rand(4, 3, 32, 32, requires_grad=True)
    gen = torch.Generator().manual_seed(0)
    y = diff_augment(x, ["translation", "cutout", "color"], gen)
    assert y.shape == x.shape and not torch.equal(y, x)
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    cut = diff_augment(torch.ones(8, 3, 32, 32), ["cutout"], gen)
    zero_frac = (cut == 0).float().mean().item()
    assert 0.05 < zero_frac < 0.3  # a half-side square ≈ 25% of the pixels, less at the borders
