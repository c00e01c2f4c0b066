"""The trainer's state: networks, optimisers, RNG streams, the guard, and how the step calls them.

`build_state` makes it from a config (the same on every rank); `snapshot` / `restore` keep the
last healthy copy in memory for the divergence guard; `ema_update` and `set_lr` are the two small
updates the loop applies besides the optimiser steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from gan.augment import AdaptiveP
from gan.config import TrainConfig
from gan.data import DeviceSampler, fits_on_device
from gan.guard import DivergenceGuard, deep_copy
from gan.models import Generator, build_models
from gan.speed import compile_models


@dataclass
class State:
    """Everything a checkpoint holds, plus the wrappers the step calls."""

    cfg: TrainConfig
    G: Generator
    D: nn.Module
    G_ema: Generator
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    noise: torch.Generator  # latents and augmentation draws
    data: DeviceSampler  # holds the batch-sampling generator
    guard: DivergenceGuard
    g_step: Callable = None  # G as the step calls it (compiled, DDP-wrapped)
    d_step: Callable = None  # D for its own update (compiled, DDP-wrapped)
    d_for_g: Callable = None  # D for the G update (compiled, not DDP: D gets no gradients there)
    step: int = 0
    best: dict[str, Any] = field(default_factory=dict)  # {"swd": …, "checkpoint": …}
    ada: AdaptiveP | None = None  # the adaptive augmentation probability (ada_target > 0)


def build_state(cfg: TrainConfig, images: torch.Tensor, device: torch.device, rank: int, world: int,
                log: Callable[[str], None]) -> State:
    """Fresh networks (DCGAN init), Adam optimisers and per-rank RNG streams, all from `cfg.seed`."""
    torch.manual_seed(cfg.seed)  # same initial weights on every rank (DDP also broadcasts them)
    G, D = build_models(cfg)
    G_ema = deep_copy(G).eval().requires_grad_(False)
    G, D, G_ema = (m.to(device) for m in (G, D, G_ema))
    if device.type == "cuda" and cfg.channels_last:
        G, D, G_ema = (m.to(memory_format=torch.channels_last) for m in (G, D, G_ema))
    scale = _lr_scale(cfg)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g * scale, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d * scale, betas=(cfg.beta1, cfg.beta2))
    on_dev = fits_on_device(images, device, cfg.data_on_device)
    st = State(cfg, G, D, G_ema, opt_g, opt_d, torch.Generator(device).manual_seed(cfg.seed * 1000 + 2 * rank + 1),
               DeviceSampler(images, device, on_dev, cfg.seed * 1000 + 2 * rank, cfg.xflip),
               DivergenceGuard(cfg.guard_retries, cfg.guard_lr_factor, cfg.guard_d_loss_min))
    if cfg.ada_target > 0:
        st.ada = AdaptiveP(cfg.ada_target, cfg.ada_interval, cfg.ada_kimg, cfg.batch, device)
    g_c, d_c = compile_models(G, D, cfg, device, log)
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [device.index] if device.type == "cuda" else None
        st.g_step, st.d_step = DDP(g_c, device_ids=ids), DDP(d_c, device_ids=ids)
    else:
        st.g_step, st.d_step = g_c, d_c
    st.d_for_g = d_c
    return st


def _lr_scale(cfg: TrainConfig) -> float:
    return math.sqrt(cfg.batch / cfg.lr_ref_batch)  # Adam: LR ∝ sqrt(batch) keeps the noise scale


def set_lr(st: State) -> None:
    """Both optimisers' LRs from the config, the batch scaling and the guard's reductions."""
    scale = _lr_scale(st.cfg) * st.guard.lr_scale
    for opt, lr in ((st.opt_g, st.cfg.lr_g), (st.opt_d, st.cfg.lr_d)):
        for group in opt.param_groups:
            group["lr"] = lr * scale


@torch.no_grad()
def ema_update(st: State, images_per_step: int) -> None:
    """G_ema ← lerp towards G with a half-life of `ema_kimg` thousand images (StyleGAN2-ADA)."""
    cfg = st.cfg
    half = cfg.ema_kimg * 1000
    if cfg.ema_rampup > 0:
        half = min(half, st.step * images_per_step * cfg.ema_rampup)
    beta = 0.5 ** (images_per_step / half) if half > 0 else 0.0
    torch._foreach_lerp_(list(st.G_ema.parameters()), list(st.G.parameters()), 1.0 - beta)
    for b_ema, b in zip(st.G_ema.buffers(), st.G.buffers(), strict=True):
        b_ema.copy_(b)  # BatchNorm statistics are copied, not averaged


def snapshot(st: State) -> dict[str, Any]:
    """An in-memory copy of everything the next steps change (for a roll-back)."""
    return deep_copy({"G": st.G.state_dict(), "D": st.D.state_dict(), "G_ema": st.G_ema.state_dict(),
                      "opt_g": st.opt_g.state_dict(), "opt_d": st.opt_d.state_dict(), "step": st.step,
                      "noise": st.noise.get_state(), "data": st.data.gen.get_state(),
                      "ada": st.ada.state() if st.ada else None})


def restore(st: State, snap: dict[str, Any]) -> None:
    for name in ("G", "D", "G_ema"):
        getattr(st, name).load_state_dict(snap[name])
    st.opt_g.load_state_dict(snap["opt_g"])
    st.opt_d.load_state_dict(snap["opt_d"])
    st.noise.set_state(snap["noise"])
    st.data.gen.set_state(snap["data"])
    st.step = snap["step"]
    if st.ada and snap.get("ada"):
        st.ada.load(snap["ada"])
    set_lr(st)
