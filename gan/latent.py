"""Latent tools: projection of an image into z, PCA (GANSpace-style) and label directions.

All take a generator in eval mode (see `gan.sampling.load_generator`); none changes its weights.
Directions are saved as JSON (`save_directions` / `load_directions`): plain numbers, nothing to
unpickle, readable by the app and `studio directions`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from gan.errors import GanError
from gan.rundir import atomic_write
from gan.sampling import latents, to_chw, to_uint8


def to_float(image: torch.Tensor) -> torch.Tensor:
    """uint8 (3, R, R) or (N, 3, R, R) → float in [-1, 1] with a batch dimension."""
    x = image.float() / 127.5 - 1 if image.dtype == torch.uint8 else image.float()
    return x.unsqueeze(0) if x.dim() == 3 else x


@dataclass
class Projection:
    z: torch.Tensor  # (1, z_dim) best latent
    image: torch.Tensor  # (3, R, R) uint8: G(z)
    loss: float  # final loss of the best restart
    history: list[float]  # best loss after each step


def project(g, target: torch.Tensor, d=None, steps: int = 200, restarts: int = 4, lr: float = 0.05,
            feature_weight: float = 0.1, seed: int = 0,
            on_step: Callable[[int], None] | None = None) -> Projection:
    """Find z with G(z) ≈ target: pixel MSE plus, if D is given, MSE of D's features.

    `restarts` latents are optimised together (one batch) from different starts; the best wins.
    `on_step(n)` is called after each step (a progress bar).
    """
    dev = next(g.parameters()).device
    y = to_float(target).to(dev)
    y_feat = d.features(y) if d is not None else None
    zb, loss, history = optimise_latents(
        g, lambda z: _projection_loss(g, d, z, y, y_feat, feature_weight), steps, restarts, lr, seed,
        on_step)
    with torch.no_grad():
        return Projection(zb, to_uint8(g(zb))[0].cpu(), loss, history)


def optimise_latents(g, loss_of, steps: int, restarts: int, lr: float, seed: int,
                     on_step: Callable[[int], None] | None = None):
    """Adam on `restarts` latents at once (one batch); `loss_of(z)` gives one loss per latent.
    `on_step(n)` is called after each step with the steps done so far (a progress bar).

    Returns the best latent (1, z_dim), its final loss and the best loss after each step.
    """
    z = latents(restarts, seed, g.z_dim).to(next(g.parameters()).device).requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr)
    history = []
    for _ in range(steps):
        loss = loss_of(z)  # (restarts,)
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        opt.step()
        history.append(float(loss.detach().min()))
        if on_step is not None:
            on_step(len(history))
    with torch.no_grad():
        loss = loss_of(z)
        best = int(loss.argmin())
        return z[best:best + 1].detach(), float(loss[best]), history


def _projection_loss(g, d, z, y, y_feat, w):
    x = g(z)
    loss = (x - y).pow(2).flatten(1).mean(1)
    if d is not None:
        loss = loss + w * (d.features(x) - y_feat).pow(2).mean(1)
    return loss


def project_each(g, targets: torch.Tensor, steps: int = 200, lr: float = 0.05, seed: int = 0,
                 batch: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """One z per target image (uint8 (N, 3, R, R)), pixel MSE, `batch` targets optimised at once:
    (N, z_dim) latents and (N,) final MSEs (images in [-1, 1])."""
    dev = next(g.parameters()).device
    zs, errs = [], []
    for i in range(0, len(targets), batch):
        y = to_float(targets[i:i + batch]).to(dev)
        z = latents(len(y), seed + i, g.z_dim).to(dev).requires_grad_(True)
        opt = torch.optim.Adam([z], lr=lr)
        for _ in range(steps):
            loss = (g(z) - y).pow(2).flatten(1).mean(1)
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            opt.step()
        with torch.no_grad():
            errs.append((g(z) - y).pow(2).flatten(1).mean(1).cpu())
        zs.append(z.detach().cpu())
    return torch.cat(zs), torch.cat(errs)


@dataclass
class Directions:
    directions: torch.Tensor  # (k, z_dim) unit vectors in z, most important first
    explained_variance: torch.Tensor  # (k,) fraction of the layer's variance each explains (NaN: labels)
    names: list[str] = field(default_factory=list)  # one per direction ("PC 1", "smiling", "domain a.example")
    meta: dict[str, Any] = field(default_factory=dict)  # kind, checkpoint, counts… (saved with them)

    def name(self, i: int) -> str:
        return self.names[i] if i < len(self.names) else f"PC {i + 1}"

    def __len__(self) -> int:
        return len(self.directions)

    def variance(self, i: int) -> float | None:
        """The fraction of variance direction i explains; None for label directions."""
        v = float(self.explained_variance[i])
        return None if v != v else v


def save_directions(path: Path | str, dirs: Directions) -> Path:
    """Write `dirs` as JSON (atomically: temp file, fsync, rename)."""
    path = Path(path)
    doc = {"format": "gan-directions-1", "z_dim": int(dirs.directions.shape[1]),
           "names": [dirs.name(i) for i in range(len(dirs.directions))],
           "directions": dirs.directions.float().tolist(),
           "explained_variance": [None if v != v else float(v) for v in dirs.explained_variance.tolist()],
           "meta": dirs.meta}
    atomic_write(path, json.dumps(doc).encode())
    return path


def load_directions(path: Path | str, z_dim: int | None = None) -> Directions:
    """Directions saved by `save_directions`; GanError when unreadable or made for another z size."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        dirs = torch.tensor(doc["directions"], dtype=torch.float32)
        var = torch.tensor([float("nan") if v is None else v for v in doc["explained_variance"]])
        names, meta = [str(n) for n in doc["names"]], dict(doc.get("meta") or {})
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GanError(f"{path}: not a directions file ({exc})") from None
    if dirs.dim() != 2 or len(dirs) != len(var) or len(dirs) != len(names):
        raise GanError(f"{path}: not a directions file (inconsistent sizes)")
    if z_dim is not None and dirs.shape[1] != z_dim:
        raise GanError(f"{path}: directions for z size {dirs.shape[1]}, this generator has {z_dim}")
    return Directions(dirs, var, names, meta)


@torch.no_grad()
def pca_directions(g, n: int = 2000, k: int = 10, seed: int = 0, layer: int = 3) -> Directions:
    """GANSpace (Härkönen et al. 2020): PCA of an early G layer's activations over random z,
    each component carried back to a z direction by linear regression."""
    if k > min(n, g.z_dim):
        raise GanError(f"k={k} directions need at least that many samples and latent dimensions")
    dev = next(g.parameters()).device
    z = latents(n, seed, g.z_dim).to(dev)
    feats = torch.cat([g.main[:layer](z[i:i + 500].view(-1, g.z_dim, 1, 1)).flatten(1) for i in range(0, n, 500)])
    feats = feats - feats.mean(0)
    _, s, v = torch.linalg.svd(feats, full_matrices=False)
    comps = v[:k]  # (k, F)
    coeffs = feats @ comps.T  # (n, k)
    zc = z - z.mean(0)
    b = torch.linalg.lstsq(coeffs, zc).solution  # (k, z_dim): z ≈ coeffs @ b
    dirs = b / b.norm(dim=1, keepdim=True).clamp_min(1e-8)
    var = s.pow(2)
    return Directions(dirs.cpu(), (var[:k] / var.sum()).cpu(), [f"PC {i + 1}" for i in range(k)],
                      {"kind": "pca", "samples": n, "seed": seed, "layer": layer})


def label_direction(z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """A unit z direction from labelled latents (e.g. samples a user tagged "smiling"):
    the difference of the class means."""
    labels = labels.bool()
    if labels.all() or not labels.any():
        raise GanError("a label direction needs latents with and without the label")
    d = z[labels].float().mean(0) - z[~labels].float().mean(0)
    return d / d.norm().clamp_min(1e-8)


def label_directions(z: torch.Tensor, labels: list[str], min_count: int = 2) -> Directions:
    """One direction per label value (its latents vs all the others), for values with at least
    `min_count` latents on each side; most common value first."""
    values = sorted(set(labels), key=lambda v: (-labels.count(v), v))
    found, names, counts = [], [], {}
    for v in values:
        mask = torch.tensor([lab == v for lab in labels])
        if int(mask.sum()) >= min_count and int((~mask).sum()) >= min_count:
            found.append(label_direction(z, mask))
            names.append(v)
            counts[v] = int(mask.sum())
    if not found:
        raise GanError(f"no label has {min_count}+ examples with and without it ({len(labels)} labelled latents)")
    return Directions(torch.stack(found), torch.full((len(found),), float("nan")), names,
                      {"kind": "labels", "counts": counts})


def edit(z: torch.Tensor, direction: torch.Tensor, amounts: list[float]) -> torch.Tensor:
    """(len(amounts), z_dim): z moved along `direction` by each amount."""
    return torch.stack([z.flatten() + a * direction.to(z) for a in amounts])


# --- numpy in, numpy out: for callers without torch (the app's pages) ------------------------------

@dataclass
class ImageProjection:
    z: np.ndarray  # (1, z_dim) float32: the best latent
    rms: float  # RMS pixel error of G(z) against the image, pixels in [0, 1]


def project_image(g, image: Image.Image | np.ndarray, d=None, steps: int = 200,
                  restarts: int = 4, on_step: Callable[[int], None] | None = None) -> ImageProjection:
    """`project` of a PIL image or uint8 array (R, R, 3): the best latent and its pixel error."""
    target = to_chw(image)
    p = project(g, target, d, steps=steps, restarts=restarts, on_step=on_step)
    rms = float(((p.image.float() - target.float()) / 255).pow(2).mean().sqrt())
    return ImageProjection(p.z.cpu().numpy(), rms)


def along(z: np.ndarray, direction: np.ndarray | torch.Tensor, amount: float) -> np.ndarray:
    """z (1, z_dim) moved `amount` along `direction` (z_dim,): (1, z_dim)."""
    return edit(torch.as_tensor(z), torch.as_tensor(direction), [amount]).numpy()


def move(z: np.ndarray, dirs: Directions, amounts: Sequence[float]) -> np.ndarray:
    """z (1, z_dim) moved amounts[i] along direction i of `dirs`, one after the other (an amount
    of 0 leaves it); more amounts than directions is a GanError."""
    if len(amounts) > len(dirs):
        raise GanError(f"{len(amounts)} amounts for {len(dirs)} directions")
    moved = np.array(z, dtype=np.float32)
    for i, amount in enumerate(amounts):
        if amount:
            moved = along(moved, dirs.directions[i], amount)
    return moved


def tagged_direction(z: np.ndarray, tagged: Iterable[int]) -> np.ndarray:
    """`label_direction` of latents z (N, z_dim) whose rows `tagged` (0-based) show an attribute
    and the others do not: a unit vector (z_dim,). GanError when all or none are tagged."""
    labels = torch.zeros(len(z), dtype=torch.bool)
    labels[list(tagged)] = True
    return label_direction(torch.as_tensor(z), labels).numpy()
