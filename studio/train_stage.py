"""The pipeline's train stage: decide (the policy, the warm start) → train (gan.train) → summarise.

The training happens in the pipeline run's own folder, so a killed run is resumed from its last
checkpoint by the next `studio pipeline`; what only gan knows (is a checkpoint's model the shape
of the new config? is there anything to resume?) is asked of gan.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curation.export import export_shas
from gan.rundir import read_run_record
from studio.errors import UserError
from studio.lineage import export_of_run
from studio.models import current, current_checkpoint, run_dir
from studio.outcomes import ExportOutcome, TrainOutcome, TrainSkipped
from studio.policy import decide_training
from studio.run_state import Context

if TYPE_CHECKING:
    from gan.config import TrainConfig


@dataclass(frozen=True)
class TrainPlan:
    """What the stage decided to train: on which export, with which config, starting from what."""

    export: str  # the export version
    export_dir: Path
    images: int
    new_accepted: int
    reason: str  # the policy's
    cfg: TrainConfig
    warm_start_from: Path | None  # the promoted checkpoint whose weights start the run
    warm_start_run: str | None
    note: str  # how it starts, when not a plain warm start
    first_training: bool  # nothing promoted yet in this workspace


@dataclass(frozen=True)
class TrainStart:
    """Where a run's weights came from, in pipeline.json before its first step (a resumed run
    reports what its first attempt started with, not today's promoted model)."""

    warm_start_from: str | None = None  # the checkpoint whose weights started it
    warm_start_run: str | None = None
    note: str = "from scratch"

    @classmethod
    def from_json(cls, record: dict[str, Any] | None) -> TrainStart:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in (record or {}).items() if k in names})


def train_stage(ctx: Context) -> TrainOutcome | TrainSkipped:
    from gan.state_io import ready_to_resume
    from gan.train import train

    plan = plan_training(ctx)
    if isinstance(plan, TrainSkipped):
        return plan
    resume = ready_to_resume(ctx.run_dir)  # a run killed before its first checkpoint starts again
    start = _start_record(ctx, plan, resume)
    sanity = None if resume else _sanity_check(ctx, plan)
    result = train(plan.cfg, plan.export_dir, ctx.run_dir, resume=resume,
                   init_from=None if resume else plan.warm_start_from, log=ctx.log)
    if result.stopped:  # SIGINT / SIGTERM: checkpointed; this stage fails and the next pipeline resumes it
        raise UserError(f"training stopped by {result.stopped} at step {result.step} (checkpointed); "
                        "the next `studio pipeline` resumes it")
    return _summarise(ctx, plan, result, start, resume, sanity)


def _summarise(ctx: Context, plan: TrainPlan, result, start: TrainStart, resume: bool,
               sanity: str | None) -> TrainOutcome:
    """The stage's outcome: what was trained on what, from where, with what result."""
    warm_from = start.warm_start_from
    how = f"warm start from {start.warm_start_run}" if warm_from else start.note
    if resume:
        how += ", resumed after an interruption"
    ckpt = result.best_checkpoint or result.checkpoint
    record = read_run_record(ctx.run_dir)
    return TrainOutcome(
        summary=f"trained {result.step} steps on {plan.export} "
                f"({plan.images} images, {plan.new_accepted} new; {how})",
        reason=plan.reason, export=plan.export, new_accepted=plan.new_accepted, steps=result.step,
        warm_start_from=warm_from, resumed=resume, checkpoint=str(ckpt.relative_to(ctx.run_dir)),
        final_metrics={k: v for k, v in result.metrics.items() if isinstance(v, int | float)},
        resolution=plan.cfg.resolution, device=record.device if record and record.device else None,
        sanity=sanity,
    )


def trained_on(ws, pointer: dict | None) -> set[str]:
    """Crops of the export the promoted model was trained on (empty when unknown)."""
    if pointer is None:
        return set()
    export = export_of_run(ws, run_dir(ws, pointer))
    return export_shas(export) if export else set()


def plan_training(ctx: Context) -> TrainPlan | TrainSkipped:
    """The policy's decision on the export stage's version, and the warm start if gan allows it."""
    from gan.state_io import model_shape_changes

    ws, cfg = ctx.ws, ctx.cfg
    export = ctx.outcome("export")
    version = export.version if isinstance(export, ExportOutcome) else None
    if version is None:
        return TrainSkipped(summary="not trained: no export", reason="no accepted crops")
    export_dir = ws.exports_dir / version
    shas = export_shas(export_dir)
    pointer = current(ws)
    new = len(shas - trained_on(ws, pointer))
    decision = decide_training(cfg.pipeline, export_size=len(shas), new=new,
                               promoted_checkpoint=current_checkpoint(ws), force=ctx.force_train)
    if not decision.train:
        return TrainSkipped(summary=f"not trained: {decision.reason}", reason=decision.reason,
                            new_accepted=new, export=version)
    tcfg = dataclasses.replace(cfg.train, steps=decision.steps, kimg=0)
    tcfg = dataclasses.replace(tcfg, **ctx.extra.get("train_overrides", {}))
    warm, note = decision.warm_start_from, ""
    if warm is not None and (changed := model_shape_changes(warm, tcfg)):
        note = f"warm start impossible ({', '.join(changed)} changed): trained from scratch"
        warm = None
    return TrainPlan(export=version, export_dir=export_dir, images=len(shas), new_accepted=new,
                     reason=decision.reason, cfg=tcfg, warm_start_from=warm,
                     warm_start_run=pointer["run"] if warm is not None else None, note=note,
                     first_training=pointer is None)


def _start_record(ctx: Context, plan: TrainPlan, resume: bool) -> TrainStart:
    """Where the run's weights come from, recorded in pipeline.json before the first step."""
    if resume:
        ctx.log(f"train: resuming the interrupted training in {ctx.run_dir.name}")
        return TrainStart.from_json(ctx.state.get("train_start"))
    warm = plan.warm_start_from
    start = TrainStart(str(warm) if warm is not None else None, plan.warm_start_run,
                       plan.note or ("warm start" if warm is not None else "from scratch"))
    ctx.remember("train_start", dataclasses.asdict(start))  # before the first step: a killed run still knows its origin
    return start


def _sanity_check(ctx: Context, plan: TrainPlan) -> str | None:
    """The workspace's first training overfits 20 images first (gan/sanity.py); its verdict."""
    if not (plan.first_training and ctx.cfg.pipeline.sanity_check and ctx.extra.get("sanity", True)):
        return None
    from gan.sanity import sanity_check_in

    check = sanity_check_in(plan.cfg, plan.export_dir, ctx.ws.root)
    ctx.log(f"train: {check.verdict}")
    if not check.passed:
        raise UserError(f"{check.verdict} (off: [pipeline] sanity_check = false, or --no-sanity)")
    return check.verdict
