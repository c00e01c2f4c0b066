"""The pipeline's stages: each calls one package's public functions and returns what it did.

crawl runs `studio crawl --report FILE` in a child process (Scrapy's reactor starts once per
process, and a crash there cannot take the pipeline with it) and reads what it did from that
report and the crawl's stats.json, never from its output; curate, export, train and evaluate run in-process.
Every result is a frozen dataclass of studio.outcomes with a one-line `summary`, recorded in
pipeline.json. The train stage has its own module (studio.train_stage).
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from crawler.report import crawl_stats
from curation.children import python_command, python_env
from curation.export import export_shas, list_exports
from studio.commands.crawl import INTERRUPTED, read_report
from studio.errors import UserError
from studio.lineage import crawls, label_state, write_export_lineage
from studio.models import current, current_checkpoint, promote
from studio.outcomes import (
    CrawlOutcome,
    CurateOutcome,
    EvaluateOutcome,
    EvaluateSkipped,
    ExportOutcome,
    PromoteOutcome,
    PromoteSkipped,
    TrainOutcome,
)
from studio.run_state import Context
from studio.train_stage import train_stage

# ------------------------------------------------------------------------------------- crawl

def crawl_stage(ctx: Context) -> CrawlOutcome:
    ws = ctx.ws
    if not ctx.cfg.sources.urls:
        raise UserError(f"no sources to crawl: set [sources] urls in {ws.config_path}")
    with tempfile.TemporaryDirectory(prefix="studio-crawl-") as tmp:
        report_path = Path(tmp) / "report.json"
        proc = subprocess.run(
            python_command("studio", "crawl", "--workspace", ws.root, "--report", report_path),
            capture_output=True, text=True, check=False, env=python_env(),
        )
        report = read_report(report_path)
    if report is None:  # it crashed before it could say what happened: its traceback's last line
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()] or ["no message"]
        raise UserError(f"crawl exited with status {proc.returncode}: {lines[-1]}")
    if report.error is not None or report.interrupted or report.crawl is None:
        why = report.error or (INTERRUPTED if report.interrupted else "it finished no crawl")
        raise UserError(f"crawl exited with status {proc.returncode}: {why}")
    stats = crawl_stats(ws.crawl_dir, report.crawl)
    if stats is None:
        raise UserError(f"crawl {report.crawl} wrote no readable stats.json")
    # Scrapy's HTTP cache answers for pages it cannot download ("error recovery"): such a crawl
    # "succeeds" on stale pages. If no page came from the server, the sources are down: stop here.
    from_cache = stats.pages_recovered_from_cache
    errors = {k: v for k, v in stats.failed_pages.items() if k != "robots"}
    if stats.pages - from_cache <= 0 and (errors or from_cache):
        why = ", ".join([f"{k} x{v}" for k, v in errors.items()]
                        + ([f"{from_cache} answered from the HTTP cache after download errors"] if from_cache else []))
        raise UserError(f"no page of {', '.join(stats.start_urls)} could be fetched ({why}); is the site up?")
    return CrawlOutcome(
        summary=f"{stats.stored} new images from {stats.pages} pages "
                f"({stats.images_known} already known and not downloaded again, "
                f"{stats.duplicates} duplicates, {stats.rejected_total} rejected)",
        crawl=report.crawl,
        start_urls=stats.start_urls,
        pages=stats.pages,
        new_images=stats.stored,
        already_known=stats.images_known,
        downloaded=stats.images_downloaded,
        duplicates=stats.duplicates,
        rejected=stats.rejected,
        failed_images=stats.failed_images,
        failed_pages=stats.failed_pages,
    )


# ------------------------------------------------------------------------------------ curate

def curate_stage(ctx: Context) -> CurateOutcome:
    from curation.catalog import CatalogInfo, human_labels, open_catalog
    from curation.export import export_stats
    from curation.run import catalog_lock, curate

    root = ctx.ws.root
    ds = open_catalog(root)
    before = (CatalogInfo.load(ds).pollution_filter or {}).get("trained_at")
    lock = catalog_lock(root)
    try:
        report = curate(root, ctx.cfg.curate, progress=False)
    finally:
        lock.release()
    ds.reload()
    labels = label_state(human_labels(ds))
    after = (report.filter or {}).get("trained_at")
    reasons = export_stats(root, ds)["rejection_reasons"]
    decisions = dict(report.decisions)
    again = f"{report.reanalysed} analysed again; " if report.reanalysed else ""
    if report.left_for_retry:
        again += f"{report.retry_line()}; "
    return CurateOutcome(
        summary=f"{report.processed} new images: {report.faces} faces, {report.crops} new crops; {again}"
                f"catalog now {decisions.get('accepted', 0)} accepted, "
                f"{decisions.get('rejected', 0)} rejected, {decisions.get('duplicate', 0)} duplicates",
        new_images=report.processed,
        already_curated=report.skipped,
        faces=report.faces,
        small_faces=report.small_faces,
        new_crops=report.crops,
        problems=report.problems[:20],
        decisions=decisions,
        rejection_reasons=reasons,
        pollution_filter_retrained=bool(after and after != before),
        pollution_filter=report.filter,
        label_state=labels,
        reanalysed=report.reanalysed,
    )


# ------------------------------------------------------------------------------------ export

def latest_export(ws) -> Path | None:
    found = list_exports(ws.exports_dir)
    return found[-1] if found else None


def export_stage(ctx: Context) -> ExportOutcome:
    from curation.catalog import accepted_shas, open_catalog
    from curation.export import export

    ws = ctx.ws
    ds = open_catalog(ws.root)
    accepted = accepted_shas(ds)
    if not accepted:
        return ExportOutcome(summary="no accepted crops: nothing to export", version=None, images=0)
    latest = latest_export(ws)
    curated = ctx.outcome("curate")
    labels = (curated.label_state if isinstance(curated, CurateOutcome) else None) or {}
    if latest is not None and export_shas(latest) == accepted:
        if not (latest / "lineage.json").exists():
            write_export_lineage(latest, crawl_list=crawls(ws), labels=labels, run=ctx.run_id)
        return ExportOutcome(summary=f"accepted crops unchanged: reusing {latest.name} ({len(accepted)} images)",
                             version=latest.name, images=len(accepted), new_version=False)
    path = export(ws.root)
    lineage = write_export_lineage(path, crawl_list=crawls(ws), labels=labels, run=ctx.run_id)
    size = len(export_shas(path))
    return ExportOutcome(summary=f"exported {path.name}: {size} accepted crops", version=path.name,
                         images=size, new_version=True, crawls=lineage["crawls"],
                         label_state=lineage["label_state"])


# ---------------------------------------------------------------------------------- evaluate

def evaluate_stage(ctx: Context) -> EvaluateOutcome | EvaluateSkipped:
    from gan.evaluate import evaluate_checkpoint, model_resolution
    from gan.train import pick_device

    trained = ctx.outcome("train")
    if not isinstance(trained, TrainOutcome):
        return EvaluateSkipped(summary="nothing to evaluate (no new model)")
    ws, pcfg = ctx.ws, ctx.cfg.pipeline
    export_dir = ws.exports_dir / trained.export
    new_ckpt = ctx.run_dir / trained.checkpoint
    old_ckpt = current_checkpoint(ws)
    side = model_resolution(new_ckpt)
    if old_ckpt is not None:
        side = min(side, model_resolution(old_ckpt))
    kw = dict(n=pcfg.eval_images, seed=pcfg.eval_seed, resolution=side,
              inception_weights=ctx.cfg.train.inception_weights,
              device=str(pick_device(ctx.cfg.train.device)), log=ctx.log)
    new = evaluate_checkpoint(new_ckpt, export_dir, **kw)
    old = evaluate_checkpoint(old_ckpt, export_dir, **kw) if old_ckpt is not None else None
    promoted = current(ws)
    line = f"new swd {new['swd']:.4g}" + (f" vs promoted {old['swd']:.4g}" if old else " (nothing promoted yet)")
    return EvaluateOutcome(
        summary=f"{line} on {trained.export} ({pcfg.eval_images} images, seed {pcfg.eval_seed}, {side} px)",
        eval_set={"export": trained.export, "images": pcfg.eval_images, "seed": pcfg.eval_seed,
                  "resolution": side},
        new=new,
        promoted_before=old,
        promoted_run=promoted["run"] if promoted and old is not None else None,
    )


# ----------------------------------------------------------------------------------- promote

def promote_stage(ctx: Context) -> PromoteOutcome | PromoteSkipped:
    from studio.gate import decide

    ev, trained = ctx.outcome("evaluate"), ctx.outcome("train")
    if not isinstance(ev, EvaluateOutcome) or not isinstance(trained, TrainOutcome):
        return PromoteSkipped(summary=f"no new model; the promoted model stays "
                                      f"({getattr(trained, 'reason', 'not trained')})")
    metrics = {k: v for k, v in ev.new.items() if k in ("swd", "fid", "kid")}
    old = ev.promoted_before
    gate = decide(metrics, old and {k: v for k, v in old.items() if k in ("swd", "fid", "kid")},
                  ctx.cfg.pipeline.tolerance)
    if gate.promote:
        promote(ctx.ws, ctx.run_dir, ctx.run_dir / trained.checkpoint, export=trained.export,
                metrics=metrics, reason=gate.reason)
        summary = f"promoted {ctx.run_id}: {gate.reason}"
    else:
        summary = f"NOT promoted ({ctx.run_id} kept): {gate.reason}"
    return PromoteOutcome(summary=summary, promoted=gate.promote, metric=gate.metric, new=gate.new,
                          old=gate.old, limit=gate.limit, tolerance=ctx.cfg.pipeline.tolerance,
                          reason=gate.reason)


STAGES = [
    ("crawl", crawl_stage),
    ("curate", curate_stage),
    ("export", export_stage),
    ("train", train_stage),
    ("evaluate", evaluate_stage),
    ("promote", promote_stage),
]
