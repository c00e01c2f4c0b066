"""Checkpoints: one folder per step, written atomically, loadable without unpickling.

    checkpoints/step-0001000/weights.safetensors   G.*, D.*, G_ema.* tensors
    checkpoints/step-0001000/state.pt              optimisers, step, RNG, guard, config: plain
                                                   tensors and containers for torch.load(weights_only=True)
    checkpoints/best.json                          {"checkpoint": "step-…", "swd": …}

A folder is written under a temporary name and renamed into place, so a killed process leaves
either the whole checkpoint or none. `safetensors` is the one import of gan/ beyond torch,
torchvision, numpy and Pillow (docs/architecture.md: weights are safetensors); it is imported
lazily here only.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from gan.errors import GanError
from gan.rundir import atomic_write

STEP_DIR = re.compile(r"^step-(\d{7})$")
# What a process killed inside save_checkpoint / write_best leaves behind.
# (best.json's temp file is atomic_write's `.best.json.<random>.tmp`; `.best.json.tmpNNN` is the
# name older versions used.)
STALE_TEMP = re.compile(r"^\.(step-\d{7}\.(tmp|old)\d+|best\.json\.(tmp\d+|[A-Za-z0-9_]+\.tmp))$")
WEIGHTS, STATE, BEST = "weights.safetensors", "state.pt", "best.json"


def log_stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _first_line(exc: BaseException) -> str:
    """An exception as one short line (torch's unpickling errors run to a dozen lines)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def save_checkpoint(ckpt_dir: Path, step: int, weights: dict[str, torch.Tensor], state: dict[str, Any]) -> Path:
    from safetensors.torch import save_file

    ckpt_dir.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(ckpt_dir)
    final = ckpt_dir / f"step-{step:07d}"
    tmp = ckpt_dir / f".step-{step:07d}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    tensors = {k: v.detach().contiguous().cpu() for k, v in weights.items()}  # channels_last → plain
    save_file(tensors, str(tmp / WEIGHTS), metadata={"step": str(step)})
    torch.save(state, tmp / STATE)
    for name in (WEIGHTS, STATE):
        _fsync_file(tmp / name)
    if final.exists():  # re-saving a step after a roll-back: move the old one aside first
        old = ckpt_dir / f".step-{step:07d}.old{os.getpid()}"
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)
    fd = os.open(ckpt_dir, os.O_RDONLY)  # make the rename itself durable
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return final


def clean_stale_temps(ckpt_dir: Path) -> list[str]:
    """Delete the half-written folders and files of killed writers; returns their names.

    Only the process holding the run's lock may call this (it is the only writer, so every
    temporary name it finds belongs to a process that died)."""
    if not ckpt_dir.is_dir():
        return []
    stale = [p for p in ckpt_dir.iterdir() if STALE_TEMP.match(p.name)]
    for p in stale:
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    return sorted(p.name for p in stale)


def list_checkpoints(ckpt_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    if not ckpt_dir.is_dir():
        return []
    found = [p for p in ckpt_dir.iterdir() if STEP_DIR.match(p.name) and (p / WEIGHTS).exists() and (p / STATE).exists()]
    return sorted(found, key=lambda p: p.name)


def checkpoint_step(ckpt: Path) -> int:
    """The step of checkpoint folder `ckpt` (`step-0001000` → 1000)."""
    m = STEP_DIR.match(ckpt.name)
    if m is None:
        raise GanError(f"{ckpt}: not a checkpoint folder (expected step-NNNNNNN)")
    return int(m.group(1))


def load_weights(ckpt: Path, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    try:
        return load_file(str(ckpt / WEIGHTS), device=str(device))
    except Exception as exc:  # safetensors' own SafetensorError, OSError, ...
        raise GanError(f"{ckpt}: cannot read weights ({_first_line(exc)})") from None


def load_state(ckpt: Path) -> dict[str, Any]:
    """state.pt, unpickled with weights_only=True: a file that would run code is refused."""
    try:
        state = torch.load(ckpt / STATE, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError, ValueError, TypeError,
            AttributeError, IndexError, KeyError, UnicodeDecodeError) as exc:
        raise GanError(f"{ckpt}: cannot read trainer state ({_first_line(exc)})") from None
    if not isinstance(state, dict) or not isinstance(state.get("config"), dict):
        raise GanError(f"{ckpt}: cannot read trainer state (not a GAN Studio checkpoint)")
    return state


def check_checkpoint(ckpt: Path) -> str | None:
    """Why checkpoint folder `ckpt` cannot be used (one line), or None when it reads whole."""
    try:
        load_state(ckpt)
        load_weights(ckpt)
    except GanError as exc:
        return str(exc)
    return None


def first_intact(candidates: list[Path], log: Callable[[str], None] = log_stderr) -> Path | None:
    """The first readable checkpoint of `candidates`, with one line when it had to pass some over."""
    bad: list[tuple[str, str]] = []
    for ckpt in dict.fromkeys(candidates):  # best is often the latest too: check it once
        problem = check_checkpoint(ckpt)
        if problem is None:
            if bad:
                log(f"skipped unreadable checkpoint {', '.join(n for n, _ in bad)} "
                    f"({bad[0][1].split(': ', 1)[-1]}); using {ckpt.name}")
            return ckpt
        bad.append((ckpt.name, problem))
    return None


def split_weights(weights: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The state dict of one network ("G", "D" or "G_ema") out of the flat weights file."""
    p = prefix + "."
    return {k[len(p):]: v for k, v in weights.items() if k.startswith(p)}


def read_best(ckpt_dir: Path) -> dict[str, Any] | None:
    try:
        best = json.loads((ckpt_dir / BEST).read_text())
    except (OSError, ValueError):
        return None
    return best if (ckpt_dir / best.get("checkpoint", "")).is_dir() else None


def write_best(ckpt_dir: Path, name: str, metric: str, value: float, step: int) -> None:
    atomic_write(ckpt_dir / BEST, (json.dumps({"checkpoint": name, metric: value, "step": step}, indent=2) + "\n").encode())


def prune(ckpt_dir: Path, keep_last: int) -> None:
    """Delete all but the newest `keep_last` checkpoints and the best one."""
    best = read_best(ckpt_dir)
    keep = {p.name for p in list_checkpoints(ckpt_dir)[-keep_last:]}
    if best:
        keep.add(best["checkpoint"])
    for p in list_checkpoints(ckpt_dir):
        if p.name not in keep:
            shutil.rmtree(p, ignore_errors=True)


def resolve_checkpoint(path: Path | str, prefer: str = "best", log: Callable[[str], None] = log_stderr) -> Path:
    """A checkpoint folder from: a checkpoint folder, a run folder (its best, else latest), or a
    `models/current.json` pointer ({"run": …, "checkpoint": …}; see docs/training.md).

    For a run folder an unreadable best or latest checkpoint is passed over (one line through
    `log`) for the newest intact one; a checkpoint named explicitly is returned as it is."""
    path = Path(path)
    if path.is_file() and path.suffix == ".json":
        try:
            ptr = json.loads(path.read_text())
            run = Path(ptr["run"])
        except (OSError, ValueError, KeyError, TypeError):
            raise GanError(f"{path}: not a model pointer (expected {{\"run\": …, \"checkpoint\": …}})") from None
        if not run.is_absolute():
            run = path.parent.parent / run  # relative to the workspace holding models/current.json
        return resolve_checkpoint(run / ptr["checkpoint"] if ptr.get("checkpoint") else run, prefer, log)
    if (path / WEIGHTS).exists():
        return path
    ckpt_dir = path / "checkpoints"
    found = list_checkpoints(ckpt_dir)
    if not found:
        raise GanError(f"no checkpoint in {path}")
    best = read_best(ckpt_dir) if prefer == "best" else None
    candidates = ([ckpt_dir / best["checkpoint"]] if best else []) + found[::-1]
    ckpt = first_intact(candidates, log)
    if ckpt is None:
        raise GanError(f"no readable checkpoint in {path} ({check_checkpoint(found[-1])})")
    return ckpt
