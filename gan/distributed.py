"""Devices and the torchrun process group: which device, which rank, and the few collectives.

Outside torchrun (WORLD_SIZE unset or 1) every function here is a no-op or a plain return, so the
single-process loop pays nothing for DistributedDataParallel support.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from gan.data import ImageSet, load_images
from gan.errors import GanError


def pick_device(setting: str, local_rank: int = 0) -> torch.device:
    """`auto` = this process's GPU when CUDA is available, else the CPU."""
    if setting == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    if setting.startswith("cuda") and not torch.cuda.is_available():
        raise GanError(f"device {setting} requested but CUDA is not available")
    if setting == "cuda":
        return torch.device(f"cuda:{local_rank}")
    return torch.device(setting)


def init_distributed(setting: str) -> tuple[int, int, int]:
    """(rank, world size, local rank); starts the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, 0
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = setting != "cpu" and torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return dist.get_rank(), world, local


def shut_down(world: int) -> None:
    if world > 1 and dist.is_initialized():
        dist.destroy_process_group()


def load_images_rank0_first(data_dir: Path, resolution: int, rank: int, world: int,
                            log: Callable[[str], None], stopped: Callable[[], str] = lambda: "") -> ImageSet:
    """The image cache, decoded by rank 0 alone; the other ranks wait, then read its cache file.
    `stopped`: a signal's name once one asked the run to stop (ends the decoding)."""
    if world > 1 and rank != 0:
        dist.barrier()
    try:
        return load_images(data_dir, resolution, log if rank == 0 else (lambda m: None), stopped)
    finally:
        if world > 1 and rank == 0:
            dist.barrier()


def on_rank0(make: Callable[[], Any], setting: str) -> Any:
    """`make()` run by rank 0 alone (e.g. claiming a numbered run folder), its result on every
    rank; starts the process group under torchrun. An error on rank 0 is raised on every rank."""
    rank, world, _ = init_distributed(setting)
    if world <= 1:
        return make()
    box: list[Any] = [None]
    if rank == 0:
        try:
            box = [("ok", make())]
        except GanError as exc:
            box = [("error", str(exc))]
    dist.broadcast_object_list(box, src=0)
    kind, value = box[0]
    if kind == "error":
        raise GanError(value)
    return value


def mean_over_ranks(t: torch.Tensor, world: int) -> torch.Tensor:
    """The mean of `t` over all ranks (in place), so every rank takes the same decision."""
    if world > 1:
        dist.all_reduce(t)
        t /= world
    return t


def gather_from_ranks(obj: Any, world: int) -> list[Any]:
    """[rank 0's obj, rank 1's obj, …] on every rank; [obj] in a single process."""
    if world <= 1:
        return [obj]
    out: list[Any] = [None] * world
    dist.all_gather_object(out, obj)
    return out
