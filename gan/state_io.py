"""The trainer State in and out of checkpoint folders: save, exact resume, start from weights.

The folder format itself (atomic writes, listing, pruning, best.json) is gan.checkpoint's; this
module decides what goes in: the three networks as weights, and optimisers, step, every rank's
RNG streams, the guard and the best-so-far as plain state.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan import checkpoint as ck
from gan.config import TrainConfig
from gan.distributed import gather_from_ranks
from gan.errors import GanError
from gan.rundir import Run, forget_metrics_after, read_metrics, read_run_record, reset_unstarted
from gan.state import State, set_lr

MODEL_FIELDS = ("resolution", "z_dim", "g_width", "d_width", "spectral_norm", "d_batchnorm")  # fixed on resume


def _field(cfg: TrainConfig, name: str):
    """A model-shape field's value; d_batchnorm is resolved (d_norm = auto follows the penalties)."""
    return cfg.d_batchnorm() if name == "d_batchnorm" else getattr(cfg, name)


def model_shape_changes(checkpoint: Path | str, cfg: TrainConfig) -> list[str]:
    """The model-shape fields (MODEL_FIELDS) in which `cfg` differs from the config saved in
    `checkpoint` (a checkpoint, run or pointer file): empty when its weights can start a run of
    `cfg` (a warm start)."""
    saved = TrainConfig.from_dict(ck.load_state(ck.resolve_checkpoint(checkpoint))["config"])
    return [f for f in MODEL_FIELDS if _field(saved, f) != _field(cfg, f)]


def ready_to_resume(run_dir: Path) -> bool:
    """Whether `run_dir` holds a training to resume (config.json and a complete checkpoint). A run
    killed before its first checkpoint is reset (gan.rundir.reset_unstarted) to start again."""
    started = (run_dir / "config.json").exists()
    if started and ck.list_checkpoints(run_dir / "checkpoints"):
        return True
    if started:
        reset_unstarted(run_dir)
    return False


@dataclass(frozen=True)
class ResumePoint:
    """Where a run that ended early can continue: its newest checkpoint's step, the steps it was
    set to run, and the signal that stopped it ("" when it was killed or crashed)."""

    step: int
    total: int
    signal: str = ""


def resume_point(run_dir: Path | str) -> ResumePoint | None:
    """For a run that ended before its last step and has a checkpoint, where it can resume; None
    for a run with no readable config.json, no checkpoint, or one that ran to its end. Read only:
    unlike ready_to_resume it changes nothing (the caller need not hold the run's lock)."""
    run_dir = Path(run_dir)
    record = read_run_record(run_dir)
    ckpts = ck.list_checkpoints(run_dir / "checkpoints")
    if record is None or not ckpts:
        return None
    step, total = ck.checkpoint_step(ckpts[-1]), record.config.total_steps()
    if step >= total:
        return None
    stops = [r for r in read_metrics(run_dir) if r.get("event") == "stopped" and r.get("step") == step]
    return ResumePoint(step, total, str(stops[-1].get("signal") or "") if stops else "")


def latest_resumable(run_dir: Path, cfg: TrainConfig, log: Callable[[str], None] = ck.log_stderr) -> Path:
    """The run's newest intact checkpoint, if `cfg` may continue it (same model shape, batch and
    loss). An unreadable newer one (a kill mid-write on a disk that lied about fsync, a bad copy)
    is passed over with one line. The caller holds the run's lock, so on rank 0 this also gets
    the run ready to continue: stale temp folders go, and metrics.jsonl forgets the steps after
    the checkpoint (the resumed run logs them again)."""
    ckpt_dir = run_dir / "checkpoints"
    main = int(os.environ.get("RANK", "0")) == 0
    if main:
        ck.clean_stale_temps(ckpt_dir)
    latest = ck.list_checkpoints(ckpt_dir)
    if not latest:
        raise GanError(f"{run_dir} has no checkpoint to resume from")
    chosen = ck.first_intact(latest[::-1], log)
    if chosen is None:
        raise GanError(f"{run_dir} has no readable checkpoint to resume from "
                       f"({ck.check_checkpoint(latest[-1])})")
    state = ck.load_state(chosen)
    saved = TrainConfig.from_dict(state["config"])
    changed = [f for f in (*MODEL_FIELDS, "batch", "loss") if _field(saved, f) != _field(cfg, f)]
    if (saved.ada_target > 0) != (cfg.ada_target > 0):
        changed.append("ada_target (adaptive augmentation on/off)")
    if changed:
        raise GanError(f"cannot resume with a different {', '.join(changed)} (checkpoint: "
                       + ", ".join(f"{f}={_field(saved, f.split()[0])}" for f in changed) + ")")
    if main:
        forget_metrics_after(run_dir, int(state["step"]))
    return chosen


def save_state(st: State, run: Run, world: int, metrics: dict | None) -> Path | None:
    """Write a checkpoint of `st` (rank 0; the others only contribute their RNG states) and keep
    best.json and the `keep_last` pruning up to date. Returns the folder (None off rank 0)."""
    rng = {"noise": st.noise.get_state(), "data": st.data.gen.get_state()}
    # every rank's generators, so a resume on as many ranks is exact
    rngs = gather_from_ranks({k: v.cpu() for k, v in rng.items()}, world) if world > 1 else [rng]
    ada = st.ada.state() if st.ada else None
    if ada and world > 1:  # p is the same on every rank; the interval's sums are each rank's own
        ada["acc_ranks"] = gather_from_ranks(ada["acc"], world)
    if not run.main:
        return None
    weights = {f"{n}.{k}": v for n in ("G", "D", "G_ema") for k, v in getattr(st, n).state_dict().items()}
    state = {"step": st.step, "config": st.cfg.to_dict(), "opt_g": st.opt_g.state_dict(),
             "opt_d": st.opt_d.state_dict(), "rng": rngs, "guard": st.guard.state(), "best": dict(st.best)}
    if ada:  # p exactly (a float32 tensor), and the interval being accumulated
        state["ada"] = ada
    ckpt_dir = run.path / "checkpoints"
    if metrics and "swd" in metrics and metrics["swd"] < st.best.get("swd", float("inf")):
        st.best = {"swd": metrics["swd"], "checkpoint": f"step-{st.step:07d}", "step": st.step}
        state["best"] = dict(st.best)
    path = ck.save_checkpoint(ckpt_dir, st.step, weights, state)
    if st.best.get("checkpoint") == path.name:
        ck.write_best(ckpt_dir, path.name, "swd", st.best["swd"], st.step)
    ck.prune(ckpt_dir, st.cfg.keep_last)
    return path


def load_state_into(st: State, path: Path, rank: int, world: int) -> None:
    """Continue from checkpoint `path`: weights, optimisers, step, guard and RNG streams."""
    load_weights_into(st, path)
    state = ck.load_state(path)
    st.opt_g.load_state_dict(state["opt_g"])
    st.opt_d.load_state_dict(state["opt_d"])
    st.step, st.best = int(state["step"]), dict(state.get("best") or {})
    st.guard.load(state["guard"])
    if st.ada and state.get("ada"):
        ada = dict(state["ada"])
        accs = ada.pop("acc_ranks", None)
        if accs is not None:  # each rank its own sums when the world size is the same, else none
            ada["acc"] = accs[rank] if len(accs) == world else ada["acc"].zero_()
        st.ada.load(ada)
    rngs: list[dict[str, Any]] = state["rng"]
    if len(rngs) == world:  # same world size: continue every stream exactly
        st.noise.set_state(rngs[rank]["noise"])
        st.data.gen.set_state(rngs[rank]["data"])
    else:  # different world size: fresh, still deterministic streams
        st.noise.manual_seed(st.cfg.seed * 1000 + st.step * 7919 + 2 * rank + 1)
        st.data.gen.manual_seed(st.cfg.seed * 1000 + st.step * 7919 + 2 * rank)
    set_lr(st)


def load_weights_into(st: State, path: Path) -> None:
    """G, D and G_ema from checkpoint `path` (fine-tuning: optimisers and step stay fresh)."""
    weights = ck.load_weights(path)
    for name in ("G", "D", "G_ema"):
        try:
            getattr(st, name).load_state_dict(ck.split_weights(weights, name))
        except RuntimeError as exc:
            raise GanError(f"{path}: weights do not fit this model ({str(exc).splitlines()[0]})") from None
