"""The training loop: `train(config, data_dir, out_dir)` → TrainResult.

`_fit` is the loop on one screen: sample, D step, G step, EMA; then, at each log step, the guard
check and what is due (log, samples, evaluation, checkpoint). The details live beside it:

    gan/state.py        State, build_state, EMA, LR, in-memory snapshots for roll-backs
    gan/state_io.py     State ↔ checkpoint folders (save, exact resume, fine-tune from weights)
    gan/distributed.py  device choice, torchrun process group, the collectives
    gan/speed.py        bf16 autocast, channels_last, torch.compile with an eager fallback
    gan/evaluate.py     SWD (+ FID/KID) and memorisation every `metric_every` steps

Under `torchrun` each process trains on batch / world_size images with DistributedDataParallel;
only rank 0 writes files.

SIGINT / SIGTERM stop a run cleanly: the current step finishes, a checkpoint is written, and
`train` returns with `stopped` set (a second signal interrupts at once). Under torchrun the ranks
agree on stopping at the next log step.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from gan import checkpoint as ck
from gan.augment import diff_augment
from gan.config import TrainConfig
from gan.distributed import (
    init_distributed,
    load_images_rank0_first,
    mean_over_ranks,
    pick_device,
    shut_down,
)
from gan.errors import GanError
from gan.evaluate import evaluate
from gan.losses import d_loss, g_loss, gamma_at, gradient_penalty, needs_reals_for_g
from gan.notify import notify, train_message
from gan.rundir import SAMPLES, Run, RunRecord, read_run_record, reals_grid_path, sample_grid_path
from gan.sampling import generate, grid_image, latents
from gan.speed import autocast, nhwc
from gan.state import State, build_state, ema_update, restore, snapshot
from gan.state_io import latest_resumable, load_state_into, load_weights_into, save_state
from gan.stopping import StopSignals

__all__ = ["TrainResult", "pick_device", "resume_config", "train"]  # pick_device: bench/, studio
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
    stopped: str = ""  # the signal that stopped the run early ("SIGINT", "SIGTERM"), "" when it ran to the end
    total: int = 0  # steps the run was to reach


def train(config: TrainConfig, data_dir: Path | str, out_dir: Path | str, *, resume: bool = False,
          init_from: Path | str | None = None, on_progress: Progress | None = None, notify_url: str = "",
          notify_style: str = "auto", log: Callable[[str], None] = _stderr,
          _after_step: Callable[[State], None] | None = None) -> TrainResult:
    """Train into run folder `out_dir` (created if needed; must not hold a run unless `resume`).

    `init_from`: a checkpoint/run whose weights start a fresh run (fine-tuning, fresh optimisers).
    `on_progress`: called on rank 0 with {"event": "step"|"rollback"|"metric"|"checkpoint", …}.
    `notify_url` / `notify_style`: the chat message at the end (gan.notify: slack, discord, json).
    """
    config.validate()
    rank, world, local = init_distributed(config.device)
    device = pick_device(config.device, local)
    if config.batch % world:
        raise GanError(f"batch {config.batch} is not divisible by {world} processes")
    run = Run(Path(out_dir), main=rank == 0, log=log)
    try:
        with StopSignals() as stop:
            run.open(resume)
            lp = _Loop(run, device, world, config.total_steps(), on_progress or (lambda e: None), log, _after_step,
                       stop)
            result = _prepare_and_fit(config, Path(data_dir), lp, rank, resume, init_from)
        if rank == 0:
            ckpt = str(result.checkpoint) if result.checkpoint else ""
            notify(notify_url, train_message("stopped" if result.stopped else "done", run.path, step=result.step,
                                             total=result.total, metrics=result.metrics, checkpoint=ckpt),
                   log, style=notify_style)
        return result
    except BaseException as exc:
        if rank == 0:
            notify(notify_url, train_message("failed", run.path, error=str(exc) or type(exc).__name__),
                   log, style=notify_style)
        raise
    finally:
        run.close()
        shut_down(world)


@dataclass
class _Loop:
    """What the loop and its helpers share besides the State."""

    run: Run
    device: torch.device
    world: int
    total: int  # steps to reach
    on_progress: Progress
    log: Callable[[str], None]
    after_step: Callable[[State], None] | None  # test hook (kill, poison, hash) after each step
    stop: StopSignals  # .signal is set by SIGINT / SIGTERM (gan/stopping.py)
    reals: torch.Tensor = None  # (N, 3, R, R) uint8 training images, for evaluation
    fixed_z: torch.Tensor = None  # latents of the sample grids


def _prepare_and_fit(cfg: TrainConfig, data_dir: Path, lp: _Loop, rank: int, resume: bool, init_from) -> TrainResult:
    """Data, config.json, the State (fresh, resumed or from weights), then the loop."""
    run = lp.run
    ckpt = latest_resumable(run.path, cfg) if resume else None  # fail before the slow part
    # one evaluation size for the whole run (SWDs compare only at equal counts), kept on resume
    cfg = replace(cfg, metric_images=cfg.eval_images(lp.device.type))
    images = load_images_rank0_first(data_dir, cfg.resolution, rank, lp.world, lp.log, lambda: lp.stop.signal)
    run.write_record(RunRecord(cfg, data_dir.resolve(), len(images.images), images.skipped, lp.world, str(lp.device)))
    st = build_state(cfg, images.images, lp.device, rank, lp.world, lp.log)
    if ckpt:
        load_state_into(st, ckpt, rank, lp.world)
        run.record({"event": "resume", "step": st.step, "checkpoint": ckpt.name})
        lp.log(f"resumed {run.path} at step {st.step}")
    elif init_from:
        load_weights_into(st, ck.resolve_checkpoint(init_from))
    lp.reals, lp.fixed_z = images.images, latents(min(64, max(16, cfg.batch)), cfg.seed + 1, cfg.z_dim)
    if run.main and not resume:
        run.folder(SAMPLES)
        grid_image(images.images[:lp.fixed_z.shape[0]]).save(reals_grid_path(run.path))
    return _fit(st, lp)


def _fit(st: State, lp: _Loop) -> TrainResult:
    cfg, device, batch = st.cfg, lp.device, st.cfg.batch // lp.world
    amp = autocast(cfg, device)
    snap, window, last_ckpt, metrics, how = snapshot(st), _Window(device), None, {}, ""
    while st.step < lp.total:
        real = st.data.sample(batch)  # (B, 3, R, R) in [-1, 1], flipped at random
        z = torch.randn(batch, cfg.z_dim, device=device, generator=st.noise)
        with amp:  # the fake is reused by the G step (pytorch/examples)
            fake = st.g_step(nhwc(z, cfg, device))
            real_in = nhwc(_augment(st, real), cfg, device)  # D's inputs: augmented, never G's samples
            fake_in = _augment(st, fake.detach())
        st.opt_d.zero_grad(set_to_none=True)
        reg = _penalties(st, real_in, fake_in, lp) if cfg.penalised() and st.step % cfg.reg_every == 0 else None
        with amp:  # D step: real up, fake down
            d_real = st.d_step(real_in)
            d_fake = st.d_step(fake_in)
            loss_d = d_loss(cfg.loss, d_real, d_fake)
        loss_d.backward()
        st.opt_d.step()
        if st.ada is not None:  # the overfitting signal, on the device: p moves every ada_interval steps
            st.ada.accumulate(d_real, (lambda t: mean_over_ranks(t, lp.world)) if lp.world > 1 else None)
        with amp:  # G step: make D call the fakes real; only G's parameters get gradients
            real_for_g = None
            if needs_reals_for_g(cfg.loss):  # the pairing loss scores each fake against a real
                with torch.no_grad():
                    real_for_g = st.d_for_g(real_in)
            loss_g = g_loss(cfg.loss, st.d_for_g(_augment(st, fake)), real_for_g)
        st.opt_g.zero_grad(set_to_none=True)
        loss_g.backward(inputs=list(st.G.parameters()))
        st.opt_g.step()
        st.step += 1
        ema_update(st, batch * lp.world)
        window.add(loss_d, loss_g, d_real, d_fake, reg)  # stays on the device: no host sync per step
        if lp.after_step:
            lp.after_step(st)
        due = _due(cfg, st.step, lp.total)
        if lp.stop.signal and lp.world == 1:  # one process: stop right after this step
            due.update(log=True, sample=True, ckpt=True)
        if not any(due.values()):
            continue
        stats = window.pop(lp.world, lp.stop.signal, st)  # the one host sync of the window
        stopping = stats.pop("stop") > 0  # any rank was signalled: all stop at this same step
        due.update(sample=due["sample"] or stopping, ckpt=due["ckpt"] or stopping)
        reason = st.guard.problem(stats)
        if reason:  # back to the last healthy state with lower LRs (raises when out of retries)
            _roll_back(st, snap, reason, lp)
            if stopping:
                last_ckpt = save_state(st, lp.run, lp.world, None)
        else:
            snap = snapshot(st)
            _log_window(st, stats, window, lp)
            ckpt, new_metrics = _run_due_tasks(st, due, lp)
            last_ckpt, metrics = ckpt or last_ckpt, new_metrics if new_metrics is not None else metrics
        if stopping:
            how = lp.stop.signal or "a signal on another rank"
            lp.run.record({"event": "stopped", "step": st.step, "signal": how, "total": lp.total})
            break
        window = _Window(device)  # restarts the img/s clock: evaluation and I/O do not count
    best = st.best.get("checkpoint")
    return TrainResult(lp.run.path, st.step, metrics, last_ckpt if lp.run.main else None,
                       lp.run.path / "checkpoints" / best if best and lp.run.main else None,
                       stopped=how, total=lp.total)


def _augment(st: State, x: torch.Tensor) -> torch.Tensor:
    """`x` as D sees it: the configured DiffAugment ops, each with probability p under ADA."""
    ops = st.cfg.augment_ops()
    if not ops:
        return x
    return diff_augment(x, ops, st.noise, st.ada.p if st.ada is not None else None)


def _penalties(st: State, real_in: torch.Tensor, fake_in: torch.Tensor, lp: _Loop) -> torch.Tensor:
    """Lazy R1 (reals) and R2 (fakes): gamma/2 * E|grad D|^2, weighted by reg_every, backpropagated
    into D's gradients before the D step's own backward (which adds to them). Eager and fp32
    (torch.compile cannot take a double backward); under DDP in no_sync, so the D step's backward
    all-reduces the sum. Returns the two penalties (unweighted) for the log."""
    cfg = st.cfg
    r1g, r2g = (gamma_at(cfg.gamma(k), st.step, lp.total, cfg.gamma_end) for k in ("r1", "r2"))
    sync = st.d_step.no_sync() if lp.world > 1 else contextlib.nullcontext()
    zero = torch.zeros((), device=lp.device)
    with sync:
        r1 = gradient_penalty(st.D, real_in) if r1g > 0 else zero
        r2 = gradient_penalty(st.D, fake_in) if r2g > 0 else zero
        ((r1g * r1 + r2g * r2) * (0.5 * cfg.reg_every)).backward()
    return torch.stack([r1.detach(), r2.detach()])


def _due(cfg: TrainConfig, step: int, total: int) -> dict[str, bool]:
    end = step == total
    return {"log": step % cfg.log_every == 0 or end, "sample": step % cfg.sample_every == 0 or end,
            "ckpt": step % cfg.ckpt_every == 0 or end,
            "metric": end or (cfg.metric_every > 0 and step % cfg.metric_every == 0)}


def _roll_back(st: State, snap: dict[str, Any], reason: str, lp: _Loop) -> None:
    st.guard.roll_back(reason, st.step)
    bad_step = st.step
    restore(st, snap)
    lp.run.record({"event": "rollback", "step": bad_step, "to_step": st.step, "reason": reason,
                   "lr_scale": st.guard.lr_scale})
    lp.log(f"step {bad_step}: {reason}; rolled back to step {st.step}, LR x{st.guard.lr_scale:g}")
    lp.on_progress({"event": "rollback", "step": st.step, "total": lp.total, "reason": reason})


def _log_window(st: State, stats: dict[str, float], window: _Window, lp: _Loop) -> None:
    """One metrics.jsonl line (and progress event) for the window that just ended."""
    rec = {"step": st.step, "kimg": st.step * st.cfg.batch / 1000, **stats,
           "img_per_s": window.images(st.cfg.batch) / max(time.perf_counter() - window.t0, 1e-9),
           "lr_scale": st.guard.lr_scale}
    lp.run.record(rec)
    lp.on_progress({"event": "step", "total": lp.total, **rec})


def _run_due_tasks(st: State, due: dict[str, bool], lp: _Loop) -> tuple[Path | None, dict[str, Any] | None]:
    """Sample grid, evaluation and checkpoint when due: (checkpoint written, new metrics)."""
    ckpt, metrics = None, None
    if due["sample"] and lp.run.main:
        lp.run.folder(SAMPLES)
        grid = grid_image(generate(st.G_ema, lp.fixed_z))
        grid.save(sample_grid_path(lp.run.path, st.step))
        lp.run.image("samples", grid, st.step)
    if due["metric"]:
        metrics = evaluate(st, lp.reals, lp.run, lp.device, lp.log) if lp.run.main else {}
        lp.on_progress({"event": "metric", "step": st.step, "total": lp.total, **metrics})
    if due["ckpt"] or due["metric"]:
        ckpt = save_state(st, lp.run, lp.world, metrics)
        lp.on_progress({"event": "checkpoint", "step": st.step, "total": lp.total, "path": str(ckpt)})
    return ckpt, metrics


class _Window:
    """Sums of the logged statistics over a log window, kept on the device, and its start time."""

    def __init__(self, device: torch.device):
        self.sum = torch.zeros(7, device=device)  # losses, D outputs, R1, R2, steps with penalties
        self.device = device
        self.n = 0
        self.t0 = time.perf_counter()

    def add(self, loss_d, loss_g, d_real, d_fake, reg=None) -> None:
        with torch.no_grad():
            pens = torch.cat([reg.float(), reg.new_ones(1)]) if reg is not None else self.sum.new_zeros(3)
            self.sum += torch.cat([torch.stack([loss_d.float(), loss_g.float(), torch.sigmoid(d_real.float()).mean(),
                                                torch.sigmoid(d_fake.float()).mean()]), pens])
        self.n += 1

    def images(self, batch: int) -> int:
        return self.n * batch

    def pop(self, world: int, stop: str = "", st: State | None = None) -> dict[str, float]:
        """The window's means over every rank, and "stop" > 0 when any rank was signalled; with
        `st`, the penalties (when on) and the augmentation probability and its signal (ADA)."""
        flag = torch.tensor([1.0 if stop else 0.0], device=self.device)
        ada = torch.stack([st.ada.p, st.ada.signal]).float() if st is not None and st.ada is not None \
            else self.sum.new_zeros(2)
        v = mean_over_ranks(torch.cat([self.sum[:4] / max(self.n, 1), self.sum[4:6] / self.sum[6].clamp_min(1),
                                       self.sum[6:7], ada, flag]), world).tolist()  # every rank: same decision
        out = {"loss_d": v[0], "loss_g": v[1], "d_real": v[2], "d_fake": v[3]}
        if st is not None and st.cfg.penalised() and v[6] > 0:
            out.update(r1=v[4], r2=v[5])
        if st is not None and st.ada is not None:
            out.update(augment_p=v[7], ada_signal=v[8])
        out["stop"] = v[9]
        return out


def resume_config(run_dir: Path | str) -> TrainConfig:
    """The config a run was started with (its config.json), for `--resume` with overrides."""
    record = read_run_record(run_dir)
    if record is None:
        raise GanError(f"{run_dir}: no readable config.json to resume")
    return record.config
