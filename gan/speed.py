"""CUDA speed features of the step: bf16 autocast, channels_last and torch.compile.

On the CPU all three are off by default (fp32, NCHW, eager): DCGAN's convolutions gain little
there and compiling costs minutes. `compile_cpu` turns compilation on for the CPU too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch
from torch import nn

from gan.config import TrainConfig
from gan.guard import deep_copy


def autocast(cfg: TrainConfig, device: torch.device):
    bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and device.type == "cuda")
    return torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def nhwc(x: torch.Tensor, cfg: TrainConfig, device: torch.device) -> torch.Tensor:
    """`x` in channels_last layout when that is on (CUDA); z vectors and CPU tensors unchanged."""
    if x.dim() == 4 and device.type == "cuda" and cfg.channels_last:
        return x.contiguous(memory_format=torch.channels_last)
    return x


def compile_models(G: nn.Module, D: nn.Module, cfg: TrainConfig, device: torch.device,
                   log: Callable[[str], None]) -> tuple[nn.Module, nn.Module]:
    """(G, D) compiled, or both eager: any compiler failure (no Triton, no C++ compiler, an old
    GPU, an unknown backend…) is one log line, and training goes on eager."""
    if not cfg.compile or (device.type != "cuda" and not cfg.compile_cpu):
        return G, D
    try:
        return _compile_and_try(G, cfg, device, cfg.z_dim), _compile_and_try(D, cfg, device, None)
    except Exception as exc:  # any compiler failure means: run eager
        why = " ".join(str(exc).split())[:160]  # compiler errors span many lines; the log gets one
        log(f"torch.compile failed ({type(exc).__name__}: {why}); running eager")
        return G, D


def _compile_and_try(m: nn.Module, cfg: TrainConfig, device: torch.device, z_dim: int | None) -> nn.Module:
    """torch.compile is lazy: run one forward and backward now, so a failure shows here, not mid-run."""
    cm = torch.compile(m, backend=cfg.compile_backend)
    keep = deep_copy(m.state_dict())
    try:
        r = cfg.resolution
        x = torch.randn(2, z_dim, device=device) if z_dim else torch.randn(2, 3, r, r, device=device)
        with autocast(cfg, device):
            cm(nhwc(x, cfg, device)).float().sum().backward()
    finally:
        m.load_state_dict(keep)  # the trial must not move BatchNorm statistics or leave gradients
        m.zero_grad(set_to_none=True)
    return cm
