"""Load a trained generator and draw deterministic samples, grids and interpolations.

Same (checkpoint, seed, truncation) gives the same pixels on any device: the noise is drawn on
the CPU from a seeded generator, and G runs in eval mode (BatchNorm uses its running statistics,
so an image does not depend on the rest of its batch).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.utils import make_grid

from gan.checkpoint import load_state, load_weights, resolve_checkpoint, split_weights
from gan.config import TrainConfig
from gan.metrics import memorization
from gan.models import Discriminator, Generator, build_discriminator


def load_generator(path: Path | str, device: str | torch.device = "cpu", ema: bool = True) -> tuple[Generator, TrainConfig]:
    """G (the EMA weights by default) in eval mode, and its config, from a run folder, a
    checkpoint folder or a models/current.json pointer."""
    ckpt = resolve_checkpoint(path)
    cfg = TrainConfig.from_dict(load_state(ckpt)["config"])
    weights = load_weights(ckpt)
    g = Generator(cfg.resolution, cfg.z_dim, cfg.g_width)
    g.load_state_dict(split_weights(weights, "G_ema" if ema else "G"))
    return g.to(device).eval().requires_grad_(False), cfg


def load_discriminator(path: Path | str, device: str | torch.device = "cpu") -> Discriminator:
    """D in eval mode (projection and completion use its features and its verdict)."""
    ckpt = resolve_checkpoint(path)
    cfg = TrainConfig.from_dict(load_state(ckpt)["config"])
    d = build_discriminator(cfg)
    d.load_state_dict(split_weights(load_weights(ckpt), "D"))
    return d.to(device).eval().requires_grad_(False)


def latents(n: int, seed: int, z_dim: int, truncation: float | None = None) -> torch.Tensor:
    """(n, z_dim) standard normal noise; with `truncation` t, values beyond ±t are redrawn
    (BigGAN's truncation trick: smaller t, more typical and less varied images)."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, z_dim, generator=gen)
    if truncation is not None and truncation > 0:
        for _ in range(1000):
            bad = z.abs() > truncation
            if not bad.any():
                break
            z[bad] = torch.randn(int(bad.sum()), generator=gen)
        z = z.clamp(-truncation, truncation)
    return z


@torch.no_grad()
def generate(g: Generator, z: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """uint8 images (N, 3, R, R) on the CPU."""
    dev = next(g.parameters()).device
    out = [to_uint8(g(z[i:i + batch].to(dev))) for i in range(0, len(z), batch)]
    return torch.cat(out).cpu()


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] float → [0, 255] uint8."""
    return (x.float() * 127.5 + 128).clamp(0, 255).to(torch.uint8)


def grid_image(images: torch.Tensor, nrow: int | None = None) -> Image.Image:
    """uint8 (N, 3, R, R) → one PIL image, `nrow` images per row (default: square-ish)."""
    nrow = nrow or max(1, int(len(images) ** 0.5 + 0.5))
    grid = make_grid(images, nrow=nrow, padding=2, pad_value=0)
    return Image.fromarray(grid.permute(1, 2, 0).cpu().numpy())


def sample_grid(g: Generator, n: int = 64, seed: int = 0, truncation: float | None = None,
                nrow: int | None = None) -> Image.Image:
    return grid_image(generate(g, latents(n, seed, g.z_dim, truncation)), nrow)


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation (White 2016): stays on the shell where Gaussian noise lives."""
    na, nb = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((na * nb).sum(-1, keepdim=True).clamp(-1, 1))
    so = torch.sin(omega)
    if float(so.abs().min()) < 1e-6:
        return (1 - t) * a + t * b
    return torch.sin((1 - t) * omega) / so * a + torch.sin(t * omega) / so * b


def interpolate(g: Generator, seed_a: int, seed_b: int, steps: int = 8,
                truncation: float | None = None) -> list[Image.Image]:
    """Frames from seed_a's image to seed_b's along the slerp between their latents."""
    return interpolate_latents(g, latents(1, seed_a, g.z_dim, truncation), latents(1, seed_b, g.z_dim, truncation),
                               steps)


def interpolate_latents(g: Generator, za: torch.Tensor | np.ndarray, zb: torch.Tensor | np.ndarray,
                        steps: int = 8) -> list[Image.Image]:
    """Frames from G(za) to G(zb) along their slerp (za, zb: (1, z_dim), e.g. a projected image's z;
    tensors or numpy arrays)."""
    za, zb = torch.as_tensor(za), torch.as_tensor(zb)
    z = torch.cat([slerp(za.cpu(), zb.cpu(), i / max(1, steps - 1)) for i in range(steps)])
    return [Image.fromarray(im.permute(1, 2, 0).numpy()) for im in generate(g, z)]


def save_strip(frames: list[Image.Image], path: Path | str) -> None:
    w, h = frames[0].size
    strip = Image.new("RGB", (w * len(frames), h))
    for i, f in enumerate(frames):
        strip.paste(f, (i * w, 0))
    strip.save(path)


def save_gif(frames: list[Image.Image], path: Path | str, ms_per_frame: int = 120, bounce: bool = True) -> None:
    seq = frames + frames[-2:0:-1] if bounce else frames
    seq[0].save(path, save_all=True, append_images=seq[1:], duration=ms_per_frame, loop=0)


# --- numpy in, numpy or PIL out: for callers without torch (the app's pages) ----------------------

def latent_batch(n: int, seed: int, z_dim: int, truncation: float | None = None) -> np.ndarray:
    """`latents` as a float32 array (n, z_dim): the same numbers for the same arguments."""
    return latents(n, seed, z_dim, truncation).numpy()


def images_of(g: Generator, z: np.ndarray | torch.Tensor) -> np.ndarray:
    """uint8 images (N, R, R, 3), channels last, of latents z (N, z_dim)."""
    return generate(g, torch.as_tensor(z)).permute(0, 2, 3, 1).numpy()


def grid_of(images: np.ndarray, nrow: int | None = None) -> Image.Image:
    """`grid_image` of uint8 channels-last images (N, R, R, 3), or of one image (R, R, 3)."""
    arr = np.ascontiguousarray(images, dtype=np.uint8)
    arr = arr[None] if arr.ndim == 3 else arr
    return grid_image(torch.from_numpy(arr).permute(0, 3, 1, 2), nrow)


def image_side(g: Generator) -> int:
    """The side in pixels of G's images."""
    return int(generate(g, latents(1, 0, g.z_dim)).shape[-1])


def to_chw(image: Image.Image | np.ndarray) -> torch.Tensor:
    """A PIL image or a uint8 array (R, R, 3) → uint8 tensor (3, R, R)."""
    if isinstance(image, Image.Image) and image.mode != "RGB":
        image = image.convert("RGB")
    return torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1).contiguous()


def nearest_training_image(image: Image.Image | np.ndarray, reals: torch.Tensor) -> tuple[np.ndarray, float]:
    """The training image closest to `image` (uint8 (R, R, 3)), channels last, and their RMS pixel
    distance in [0, 1] (`gan.metrics.memorization`); `reals`: uint8 (N, 3, R, R), as
    `gan.data.load_images` gives them."""
    _, j, rms = memorization(to_chw(image)[None], reals, threshold=0.0, pairs=1)["closest_pairs"][0]
    return reals[j].permute(1, 2, 0).numpy(), rms
