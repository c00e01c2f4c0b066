"""The training loop: `train(config, data_dir, out_dir)` → TrainResult.

The loop itself (`_fit`) fits on one screen: sample, D step, G step, EMA, then log / sample /
evaluate / checkpoint when due. Setup, checkpoint I/O, metrics and the divergence guard live in
the helpers below it and in their own modules. Under `torchrun` each process trains on
batch / world_size images with DistributedDataParallel; only rank 0 writes files.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from gan import checkpoint as ck
from gan.augment import diff_augment
from gan.config import TrainConfig
from gan.data import DeviceSampler, fits_on_device, load_images
from gan.errors import GanError
from gan.guard import DivergenceGuard, deep_copy
from gan.losses import d_loss, g_loss
from gan.metrics import fid_kid, memorization, swd
from gan.models import Generator, build_models
from gan.notify import notify
from gan.rundir import Run, atomic_write
from gan.sampling import generate, grid_image, latents

MODEL_FIELDS = ("resolution", "z_dim", "g_width", "d_width", "spectral_norm")  # fixed on resume
Progress = Callable[[dict[str, Any]], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class TrainResult:
    run_dir: Path
    step: int  # steps done
    metrics: dict[str, Any]  # final evaluation: swd, swd_levels, memorized_fraction, fid, kid (if run)
    checkpoint: Path | None  # the last checkpoint (None on ranks other than 0)
    best_checkpoint: Path | None  # the best one by SWD


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


def train(config: TrainConfig, data_dir: Path | str, out_dir: Path | str, *, resume: bool = False,
          init_from: Path | str | None = None, on_progress: Progress | None = None, notify_url: str = "",
          log: Callable[[str], None] = _stderr, _after_step: Callable[[State], None] | None = None) -> TrainResult:
    """Train into run folder `out_dir` (created if needed; must not hold a run unless `resume`).

    `init_from`: a checkpoint/run whose weights start a fresh run (fine-tuning, fresh optimisers).
    `on_progress`: called on rank 0 with {"event": "step"|"rollback"|"metric"|"checkpoint", …}.
    """
    config.validate()
    rank, world, local = _init_distributed(config.device)
    device = pick_device(config.device, local)
    if config.batch % world:
        raise GanError(f"batch {config.batch} is not divisible by {world} processes")
    run = Run(Path(out_dir), main=rank == 0, log=log)
    try:
        run.open(resume)
        result = _train(config, Path(data_dir), run, device, rank, world, resume, init_from,
                        on_progress or (lambda e: None), log, _after_step)
        if rank == 0:
            notify(notify_url, {"event": "done", "run": str(run.path), "step": result.step,
                                "metrics": {k: v for k, v in result.metrics.items() if k != "closest_pairs"}}, log)
        return result
    except BaseException as exc:
        if rank == 0:
            notify(notify_url, {"event": "failed", "run": str(run.path), "error": str(exc) or type(exc).__name__}, log)
        raise
    finally:
        run.close()
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def _train(cfg, data_dir, run, device, rank, world, resume, init_from, on_progress, log, after_step):
    main = rank == 0
    if resume:
        latest = ck.list_checkpoints(run.path / "checkpoints")
        if not latest:
            raise GanError(f"{run.path} has no checkpoint to resume from")
        state_dict = ck.load_state(latest[-1])
        saved = TrainConfig.from_dict(state_dict["config"])
        changed = [f for f in (*MODEL_FIELDS, "batch", "loss") if getattr(saved, f) != getattr(cfg, f)]
        if changed:
            raise GanError(f"cannot resume with a different {', '.join(changed)} (checkpoint: "
                           + ", ".join(f"{f}={getattr(saved, f)}" for f in changed) + ")")
    images = _load_data(data_dir, cfg.resolution, rank, world, log)
    run.write_config({**cfg.to_dict(), "data": str(data_dir.resolve()), "images": len(images.images),
                      "skipped_images": images.skipped, "world_size": world, "device": str(device)})
    st = _build_state(cfg, images.images, device, rank, world, log)
    if resume:
        _load_checkpoint(st, latest[-1], rank, world)
        run.record({"event": "resume", "step": st.step, "checkpoint": latest[-1].name})
        log(f"resumed {run.path} at step {st.step}")
    elif init_from:
        _load_weights_only(st, ck.resolve_checkpoint(init_from))
    fixed_z = latents(min(64, max(16, cfg.batch)), cfg.seed + 1, cfg.z_dim)
    if main and not resume:
        grid_image(images.images[:fixed_z.shape[0]]).save(_mkdir(run.path / "samples") / "reals.png")
    return _fit(st, images.images, fixed_z, run, device, world, on_progress, log, after_step)


def _fit(st: State, reals: torch.Tensor, fixed_z, run: Run, device, world, on_progress, log, after_step) -> TrainResult:
    cfg, total, batch = st.cfg, st.cfg.total_steps(), st.cfg.batch // world
    ops, amp = cfg.augment_ops(), _autocast(cfg, device)
    snap, acc, t0, last_ckpt, metrics = _snapshot(st), _Window(device), time.perf_counter(), None, {}
    while st.step < total:
        real = st.data.sample(batch)  # (B, 3, R, R) in [-1, 1], flipped at random
        z = torch.randn(batch, cfg.z_dim, device=device, generator=st.noise)
        with amp:  # D step: real up, fake down; the fake is reused by the G step (pytorch/examples)
            fake = st.g_step(_nhwc(z, cfg, device))
            d_real = st.d_step(_nhwc(diff_augment(real, ops, st.noise), cfg, device))
            d_fake = st.d_step(diff_augment(fake.detach(), ops, st.noise))
            loss_d = d_loss(cfg.loss, d_real, d_fake)
        st.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        st.opt_d.step()
        with amp:  # G step: make D call the fakes real; only G's parameters get gradients
            loss_g = g_loss(cfg.loss, st.d_for_g(diff_augment(fake, ops, st.noise)))
        st.opt_g.zero_grad(set_to_none=True)
        loss_g.backward(inputs=list(st.G.parameters()))
        st.opt_g.step()
        st.step += 1
        _ema_update(st, batch * world)
        acc.add(loss_d, loss_g, d_real, d_fake)  # stays on the device: no host sync per step
        if after_step:
            after_step(st)
        due = _due(cfg, st.step, total)
        if not any(due.values()):
            continue
        stats = acc.pop(world)  # the one host sync of the window
        reason = st.guard.problem(stats)
        if reason:  # roll back to the last healthy state with lower LRs (raises when out of retries)
            st.guard.roll_back(reason, st.step)
            bad_step = st.step
            _restore(st, snap)
            run.record({"event": "rollback", "step": bad_step, "to_step": st.step, "reason": reason,
                        "lr_scale": st.guard.lr_scale})
            log(f"step {bad_step}: {reason}; rolled back to step {st.step}, LR x{st.guard.lr_scale:g}")
            on_progress({"event": "rollback", "step": st.step, "total": total, "reason": reason})
            acc, t0 = _Window(device), time.perf_counter()
            continue
        snap = _snapshot(st)
        now = time.perf_counter()
        rec = {"step": st.step, "kimg": st.step * cfg.batch / 1000, **stats,
               "img_per_s": acc.images(cfg.batch) / max(now - t0, 1e-9), "lr_scale": st.guard.lr_scale}
        acc, t0 = _Window(device), now
        run.record(rec)
        on_progress({"event": "step", "total": total, **rec})
        if due["sample"] and run.main:
            grid_image(generate(st.G_ema, fixed_z)).save(_mkdir(run.path / "samples") / f"step-{st.step:07d}.png")
        if due["metric"]:
            metrics = _evaluate(st, reals, run, device, log) if run.main else {}
            on_progress({"event": "metric", "step": st.step, "total": total, **metrics})
        if due["ckpt"] or due["metric"]:
            last_ckpt = _save_checkpoint(st, run, world, metrics if due["metric"] else None)
            on_progress({"event": "checkpoint", "step": st.step, "total": total, "path": str(last_ckpt)})
        t0 = time.perf_counter()  # evaluation and I/O do not count against img/s
    best = st.best.get("checkpoint")
    return TrainResult(run.path, st.step, metrics, last_ckpt if run.main else None,
                       run.path / "checkpoints" / best if best and run.main else None)


def _due(cfg: TrainConfig, step: int, total: int) -> dict[str, bool]:
    end = step == total
    return {"log": step % cfg.log_every == 0 or end, "sample": step % cfg.sample_every == 0 or end,
            "ckpt": step % cfg.ckpt_every == 0 or end,
            "metric": end or (cfg.metric_every > 0 and step % cfg.metric_every == 0)}


class _Window:
    """Sums of the logged statistics over a log window, kept on the device."""

    def __init__(self, device):
        self.sum = torch.zeros(4, device=device)
        self.n = 0

    def add(self, loss_d, loss_g, d_real, d_fake) -> None:
        with torch.no_grad():
            self.sum += torch.stack([loss_d.float(), loss_g.float(), torch.sigmoid(d_real.float()).mean(),
                                     torch.sigmoid(d_fake.float()).mean()])
        self.n += 1

    def images(self, batch: int) -> int:
        return self.n * batch

    def pop(self, world: int) -> dict[str, float]:
        s = self.sum / max(self.n, 1)
        if world > 1:  # every rank must take the same guard decision
            dist.all_reduce(s)
            s /= world
        v = s.tolist()
        return {"loss_d": v[0], "loss_g": v[1], "d_real": v[2], "d_fake": v[3]}


# ---------------------------------------------------------------- setup

def pick_device(setting: str, local_rank: int = 0) -> torch.device:
    if setting == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    if setting.startswith("cuda") and not torch.cuda.is_available():
        raise GanError(f"device {setting} requested but CUDA is not available")
    if setting == "cuda":
        return torch.device(f"cuda:{local_rank}")
    return torch.device(setting)


def _init_distributed(setting: str) -> tuple[int, int, int]:
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


def _load_data(data_dir, resolution, rank, world, log):
    if world > 1 and rank != 0:
        dist.barrier()  # rank 0 decodes and writes the cache first; the others then read it
    try:
        return load_images(data_dir, resolution, log if rank == 0 else (lambda m: None))
    finally:
        if world > 1 and rank == 0:
            dist.barrier()


def _build_state(cfg: TrainConfig, images, device, rank, world, log) -> State:
    torch.manual_seed(cfg.seed)  # same initial weights on every rank (DDP also broadcasts them)
    G, D = build_models(cfg)
    G_ema = deep_copy(G).eval().requires_grad_(False)
    G, D, G_ema = (m.to(device) for m in (G, D, G_ema))
    if device.type == "cuda" and cfg.channels_last:
        G, D, G_ema = (m.to(memory_format=torch.channels_last) for m in (G, D, G_ema))
    scale = math.sqrt(cfg.batch / cfg.lr_ref_batch)  # Adam: LR ∝ sqrt(batch) keeps the noise scale
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g * scale, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d * scale, betas=(cfg.beta1, cfg.beta2))
    on_dev = fits_on_device(images, device, cfg.data_on_device)
    st = State(cfg, G, D, G_ema, opt_g, opt_d, torch.Generator(device).manual_seed(cfg.seed * 1000 + 2 * rank + 1),
               DeviceSampler(images, device, on_dev, cfg.seed * 1000 + 2 * rank),
               DivergenceGuard(cfg.guard_retries, cfg.guard_lr_factor, cfg.guard_d_loss_min))
    g_c, d_c = _compiled(G, cfg, device, log, cfg.z_dim), _compiled(D, cfg, device, log, None)
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [device.index] if device.type == "cuda" else None
        st.g_step, st.d_step = DDP(g_c, device_ids=ids), DDP(d_c, device_ids=ids)
    else:
        st.g_step, st.d_step = g_c, d_c
    st.d_for_g = d_c
    return st


def _compiled(m: nn.Module, cfg: TrainConfig, device, log, z_dim):
    """torch.compile on CUDA; any failure (no Triton, old GPU…) falls back to eager in one line."""
    if device.type != "cuda" or not cfg.compile:
        return m
    try:
        cm = torch.compile(m)
        keep = deep_copy(m.state_dict())  # the trial forward must not move BatchNorm statistics
        x = torch.randn(2, z_dim, device=device) if z_dim else torch.randn(2, 3, cfg.resolution, cfg.resolution, device=device)
        with _autocast(cfg, device):
            cm(_nhwc(x, cfg, device)).float().sum().backward()
        m.load_state_dict(keep)
        m.zero_grad(set_to_none=True)
        return cm
    except Exception as exc:  # any compiler failure means: run eager
        log(f"torch.compile failed ({type(exc).__name__}: {str(exc)[:120]}); running eager")
        return m


def _autocast(cfg: TrainConfig, device):
    bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and device.type == "cuda")
    return torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def _nhwc(x: torch.Tensor, cfg: TrainConfig, device) -> torch.Tensor:
    if x.dim() == 4 and device.type == "cuda" and cfg.channels_last:
        return x.contiguous(memory_format=torch.channels_last)
    return x


@torch.no_grad()
def _ema_update(st: State, images_per_step: int) -> None:
    """G_ema ← lerp towards G with a half-life of `ema_kimg` thousand images (StyleGAN2-ADA)."""
    cfg = st.cfg
    half = cfg.ema_kimg * 1000
    if cfg.ema_rampup > 0:
        half = min(half, st.step * images_per_step * cfg.ema_rampup)
    beta = 0.5 ** (images_per_step / half) if half > 0 else 0.0
    torch._foreach_lerp_(list(st.G_ema.parameters()), list(st.G.parameters()), 1.0 - beta)
    for b_ema, b in zip(st.G_ema.buffers(), st.G.buffers(), strict=True):
        b_ema.copy_(b)  # BatchNorm statistics are copied, not averaged


# ---------------------------------------------------------------- snapshots and checkpoints

def _set_lr(st: State) -> None:
    scale = math.sqrt(st.cfg.batch / st.cfg.lr_ref_batch) * st.guard.lr_scale
    for opt, lr in ((st.opt_g, st.cfg.lr_g), (st.opt_d, st.cfg.lr_d)):
        for group in opt.param_groups:
            group["lr"] = lr * scale


def _snapshot(st: State) -> dict[str, Any]:
    return deep_copy({"G": st.G.state_dict(), "D": st.D.state_dict(), "G_ema": st.G_ema.state_dict(),
                      "opt_g": st.opt_g.state_dict(), "opt_d": st.opt_d.state_dict(), "step": st.step,
                      "noise": st.noise.get_state(), "data": st.data.gen.get_state()})


def _restore(st: State, snap: dict[str, Any]) -> None:
    for name in ("G", "D", "G_ema"):
        getattr(st, name).load_state_dict(snap[name])
    st.opt_g.load_state_dict(snap["opt_g"])
    st.opt_d.load_state_dict(snap["opt_d"])
    st.noise.set_state(snap["noise"])
    st.data.gen.set_state(snap["data"])
    st.step = snap["step"]
    _set_lr(st)


def _save_checkpoint(st: State, run: Run, world: int, metrics: dict | None) -> Path | None:
    rng = {"noise": st.noise.get_state(), "data": st.data.gen.get_state()}
    rngs = [rng]
    if world > 1:  # every rank's generators, so a resume on as many ranks is exact
        rngs = [None] * world
        dist.all_gather_object(rngs, {k: v.cpu() for k, v in rng.items()})
    if not run.main:
        return None
    weights = {f"{n}.{k}": v for n in ("G", "D", "G_ema") for k, v in getattr(st, n).state_dict().items()}
    state = {"step": st.step, "config": st.cfg.to_dict(), "opt_g": st.opt_g.state_dict(),
             "opt_d": st.opt_d.state_dict(), "rng": rngs, "guard": st.guard.state(), "best": dict(st.best)}
    ckpt_dir = run.path / "checkpoints"
    if metrics and "swd" in metrics and metrics["swd"] < st.best.get("swd", float("inf")):
        st.best = {"swd": metrics["swd"], "checkpoint": f"step-{st.step:07d}", "step": st.step}
        state["best"] = dict(st.best)
    path = ck.save_checkpoint(ckpt_dir, st.step, weights, state)
    if st.best.get("checkpoint") == path.name:
        ck.write_best(ckpt_dir, path.name, "swd", st.best["swd"], st.step)
    ck.prune(ckpt_dir, st.cfg.keep_last)
    return path


def _load_checkpoint(st: State, path: Path, rank: int, world: int) -> None:
    _load_weights_only(st, path)
    state = ck.load_state(path)
    st.opt_g.load_state_dict(state["opt_g"])
    st.opt_d.load_state_dict(state["opt_d"])
    st.step, st.best = int(state["step"]), dict(state.get("best") or {})
    st.guard.load(state["guard"])
    rngs = state["rng"]
    if len(rngs) == world:  # same world size: continue every stream exactly
        st.noise.set_state(rngs[rank]["noise"])
        st.data.gen.set_state(rngs[rank]["data"])
    else:  # different world size: fresh, still deterministic streams
        st.noise.manual_seed(st.cfg.seed * 1000 + st.step * 7919 + 2 * rank + 1)
        st.data.gen.manual_seed(st.cfg.seed * 1000 + st.step * 7919 + 2 * rank)
    _set_lr(st)


def _load_weights_only(st: State, path: Path) -> None:
    weights = ck.load_weights(path)
    for name in ("G", "D", "G_ema"):
        try:
            getattr(st, name).load_state_dict(ck.split_weights(weights, name))
        except RuntimeError as exc:
            raise GanError(f"{path}: weights do not fit this model ({str(exc).splitlines()[0]})") from None


# ---------------------------------------------------------------- evaluation

def _evaluate(st: State, reals: torch.Tensor, run: Run, device, log) -> dict[str, Any]:
    """SWD (+ FID/KID when configured) of G_ema against real images, and the memorisation check."""
    cfg = st.cfg
    n, gen = cfg.metric_images, torch.Generator().manual_seed(cfg.seed + 7)
    pick = torch.randperm(len(reals), generator=gen)[:n] if len(reals) >= n else \
        torch.randint(len(reals), (n,), generator=gen)  # a small set is drawn with repeats
    real = reals[pick]
    fake = generate(st.G_ema, latents(n, cfg.seed + 2, cfg.z_dim))
    out: dict[str, Any] = swd(real, fake, device=device)
    if cfg.inception_weights:
        out.update(fid_kid(real, fake, cfg.inception_weights, device, log))
    elif not getattr(run, "_fid_note", False):
        log("FID/KID skipped: set inception_weights in [train] to a local Inception weights file")
        run._fid_note = True
    mem = memorization(fake, reals, cfg.memorization_threshold, device=device)
    pairs = mem.pop("closest_pairs")
    out.update(mem)
    sample_dir = _mkdir(run.path / "samples")
    grid_image(torch.stack([im for f, t, _ in pairs for im in (fake[f], reals[t])]), nrow=2).save(
        sample_dir / f"memorization-step-{st.step:07d}.png")  # left: generated, right: nearest real
    run.record({"event": "metric", "step": st.step, **out})
    atomic_write(run.path / "metrics-latest.json", (json.dumps({"step": st.step, **out}, indent=2) + "\n").encode())
    return out


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def resume_config(run_dir: Path | str) -> TrainConfig:
    """The config a run was started with (its config.json), for `--resume` with overrides."""
    path = Path(run_dir) / "config.json"
    try:
        return TrainConfig.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError) as exc:
        raise GanError(f"{run_dir}: no readable config.json to resume ({exc})") from None
