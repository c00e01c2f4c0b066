"""Semantic image completion (Yeh et al. 2017): fill a hole with the closest G(z), then blend.

The loss is contextual (known pixels near the hole weigh more, L1) plus perceptual (D should
call G(z) real); z is optimised from several restarts. The composite keeps every known pixel
as it was; Poisson blending (or a feathered alpha) then hides the seam. Masks are boolean
(R, R) tensors, True where pixels are missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from gan.errors import GanError
from gan.latent import optimise_latents, to_float
from gan.losses import g_loss
from gan.sampling import to_chw, to_uint8

MASK_KINDS = ("centre", "left", "right", "random", "pattern", "custom")


def make_mask(kind: str, resolution: int, seed: int = 0, custom=None) -> torch.Tensor:
    """A hole mask (R, R) bool: True = missing. `custom` is an array/PIL image, nonzero = hole."""
    r = resolution
    m = torch.zeros(r, r, dtype=torch.bool)
    gen = torch.Generator().manual_seed(seed)
    if kind in ("centre", "center"):
        m[r // 4:3 * r // 4, r // 4:3 * r // 4] = True
    elif kind == "left":
        m[:, : r // 2] = True
    elif kind == "right":
        m[:, r // 2:] = True
    elif kind == "random":  # 80% of pixels missing at random (Yeh et al.)
        m = torch.rand(r, r, generator=gen) < 0.8
    elif kind == "pattern":  # random blobs: low-resolution noise, upsampled and thresholded
        low = torch.rand(1, 1, 6, 6, generator=gen)
        m = F.interpolate(low, size=(r, r), mode="bicubic", align_corners=False)[0, 0] > 0.55
    elif kind == "custom":
        if custom is None:
            raise GanError("a custom mask needs an image or array")
        arr = np.asarray(custom.convert("L") if isinstance(custom, Image.Image) else custom)
        img = Image.fromarray((arr > (127 if arr.dtype == np.uint8 else 0)).astype(np.uint8) * 255)
        m = torch.from_numpy(np.asarray(img.resize((r, r), Image.Resampling.NEAREST)) > 0)
    else:
        raise GanError(f"unknown mask kind {kind!r} (known: {', '.join(MASK_KINDS)})")
    return m


def importance_weights(hole: torch.Tensor, window: int = 7) -> torch.Tensor:
    """Yeh et al.'s W: a known pixel weighs the fraction of missing pixels around it; holes weigh 0."""
    h = hole.float()[None, None]
    frac = F.avg_pool2d(h, window, stride=1, padding=window // 2, count_include_pad=False)
    return (frac * (1 - h))[0, 0]


@dataclass
class Completion:
    generated: torch.Tensor  # (3, R, R) uint8: G(z) for the best z
    composite: torch.Tensor  # (3, R, R) uint8: known pixels from the input, the hole from G(z)
    blended: torch.Tensor  # (3, R, R) uint8: composite with the seam blended away
    loss: float
    history: list[float]


def complete(g, d, image: torch.Tensor, hole: torch.Tensor, steps: int = 300, restarts: int = 4,
             lr: float = 0.03, perceptual_weight: float = 0.003, blend: str = "poisson", seed: int = 0,
             on_step: Callable[[int], None] | None = None) -> Completion:
    """Fill `hole` of uint8 `image` (3, R, R) with the generator's best guess; `on_step(n)` after
    each of the `steps` optimisation steps (a progress bar)."""
    if blend not in ("poisson", "alpha", "none"):
        raise GanError("blend must be poisson, alpha or none")
    dev = next(g.parameters()).device
    y = to_float(image).to(dev)
    w = importance_weights(hole).to(dev)

    def loss_of(z):
        x = g(z)
        contextual = (w * (x - y).abs()).flatten(1).sum(1)  # (restarts,)
        if d is None:
            return contextual
        return contextual + perceptual_weight * torch.stack([g_loss("ns", d(x[i:i + 1])) for i in range(len(x))])

    zb, loss, history = optimise_latents(g, loss_of, steps, restarts, lr, seed, on_step)
    with torch.no_grad():
        gen = to_uint8(g(zb))[0].cpu()
    img = image.cpu()
    composite = torch.where(hole, gen, img)
    if blend == "poisson":
        blended = poisson_blend(img, gen, hole)
    elif blend == "alpha":
        blended = alpha_blend(img, gen, hole)
    else:
        blended = composite
    return Completion(gen, composite, blended, loss, history)


def poisson_blend(image: torch.Tensor, fill: torch.Tensor, hole: torch.Tensor, iters: int = 2000) -> torch.Tensor:
    """Gradient-domain blend (Pérez et al. 2003): inside the hole keep `fill`'s gradients and
    match `image` at the border. Solved as fill + a harmonic correction (Jacobi iterations)."""
    y, g = image.float(), fill.float()
    diff = torch.where(hole, torch.zeros_like(y), y - g)  # the correction, fixed outside the hole
    known = y - g
    kernel = torch.tensor([[0.0, 0.25, 0.0], [0.25, 0.0, 0.25], [0.0, 0.25, 0.0]]).expand(3, 1, 3, 3)
    for _ in range(iters):
        avg = F.conv2d(F.pad(diff[None], [1, 1, 1, 1], mode="replicate"), kernel, groups=3)[0]
        diff = torch.where(hole, avg, known)
    return (g + diff).round().clamp(0, 255).to(torch.uint8)


def alpha_blend(image: torch.Tensor, fill: torch.Tensor, hole: torch.Tensor, feather: int = 5) -> torch.Tensor:
    """Feathered composite: the hole's edge fades over about `feather` pixels into the image."""
    a = F.avg_pool2d(hole.float()[None, None], feather, stride=1, padding=feather // 2, count_include_pad=False)[0, 0]
    a = torch.maximum(a, hole.float())
    return (a * fill.float() + (1 - a) * image.float()).round().clamp(0, 255).to(torch.uint8)


# --- numpy in, numpy out: for callers without torch (the app's pages) ------------------------------

def hole_mask(kind: str, resolution: int, seed: int = 0, custom=None) -> np.ndarray:
    """`make_mask` as a bool array (R, R): True = missing."""
    return make_mask(kind, resolution, seed=seed, custom=custom).numpy()


def masked_image(image: Image.Image | np.ndarray, hole: np.ndarray, fill: int = 128) -> np.ndarray:
    """uint8 (R, R, 3): the image with the hole's pixels grey, as the completion sees it."""
    pixels = to_chw(image).permute(1, 2, 0).numpy()
    return np.where(np.asarray(hole, dtype=bool)[..., None], np.uint8(fill), pixels)


@dataclass
class CompletedImage:
    generated: np.ndarray  # (R, R, 3) uint8: G(z) for the best z
    composite: np.ndarray  # (R, R, 3) uint8: known pixels from the input, the hole from G(z)
    blended: np.ndarray  # (R, R, 3) uint8: composite with the seam blended away
    loss: float


def complete_image(g, d, image: Image.Image | np.ndarray, hole: np.ndarray, steps: int = 300,
                   restarts: int = 4, blend: str = "poisson", seed: int = 0,
                   on_step: Callable[[int], None] | None = None) -> CompletedImage:
    """`complete` of a PIL image or uint8 array (R, R, 3) and a bool hole (R, R), channels last."""
    c = complete(g, d, to_chw(image), torch.as_tensor(np.asarray(hole, dtype=bool)), steps=steps,
                 restarts=restarts, blend=blend, seed=seed, on_step=on_step)

    def hwc(t: torch.Tensor) -> np.ndarray:
        return t.permute(1, 2, 0).numpy()

    return CompletedImage(hwc(c.generated), hwc(c.composite), hwc(c.blended), c.loss)
