"""The pipeline's stages: each calls one package's public functions and returns what it did.

crawl runs `studio crawl` in a child process (Scrapy's reactor starts once per process, and a
crash there cannot take the pipeline with it); curate, export, train and evaluate run in-process.
Every result is a small JSON-able dict with a one-line `summary`, recorded in pipeline.json.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from crawler.report import list_crawls
from studio.errors import UserError
from studio.lineage import crawls, export_of_run, export_shas, label_state, write_export_lineage
from studio.models import current, current_checkpoint, promote, run_dir
from studio.pipeline import Context, save_state
from studio.policy import decide_training

# Fields that fix a model's shape: a warm start needs them equal (gan.train.MODEL_FIELDS).
MODEL_FIELDS = ("resolution", "z_dim", "g_width", "d_width", "spectral_norm")


# ------------------------------------------------------------------------------------- crawl

def crawl_stage(ctx: Context) -> dict[str, Any]:
    ws = ctx.ws
    if not ctx.cfg.sources.urls:
        raise UserError(f"no sources to crawl: set [sources] urls in {ws.config_path}")
    before = {c.id for c in list_crawls(ws.crawl_dir)}
    proc = subprocess.run(
        [sys.executable, "-m", "studio", "crawl", "--workspace", str(ws.root)],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        errors = [ln for ln in lines if "error" in ln.lower()]
        raise UserError(f"crawl exited with status {proc.returncode}: "
                        f"{(errors or lines or ['no message'])[-1].removeprefix('studio: error: ')}")
    new = [c for c in list_crawls(ws.crawl_dir) if c.id not in before]
    if not new:
        raise UserError("crawl wrote no stats.json")
    stats = new[-1].stats or {}
    failed_pages = stats.get("failed_pages") or {}
    # Scrapy's HTTP cache answers for pages it cannot download ("error recovery"): such a crawl
    # "succeeds" on stale pages. If no page came from the server, the sources are down: stop here.
    from_cache = (stats.get("scrapy") or {}).get("httpcache/errorrecovery", 0)
    errors = {k: v for k, v in failed_pages.items() if k != "robots"}
    if stats.get("pages", 0) - from_cache <= 0 and (errors or from_cache):
        why = ", ".join([f"{k} x{v}" for k, v in errors.items()]
                        + ([f"{from_cache} answered from the HTTP cache after download errors"] if from_cache else []))
        raise UserError(f"no page of {', '.join(stats.get('start_urls', []))} could be fetched ({why}); "
                        "is the site up?")
    rejected = stats.get("rejected") or {}
    return {
        "summary": f"{stats.get('stored', 0)} new images from {stats.get('pages', 0)} pages "
                   f"({stats.get('images_known', 0)} already known and not downloaded again, "
                   f"{stats.get('duplicates', 0)} duplicates, {sum(rejected.values())} rejected)",
        "crawl": new[-1].id,
        "start_urls": stats.get("start_urls", []),
        "pages": stats.get("pages", 0),
        "new_images": stats.get("stored", 0),
        "already_known": stats.get("images_known", 0),
        "downloaded": stats.get("images_downloaded", 0),
        "duplicates": stats.get("duplicates", 0),
        "rejected": rejected,
        "failed_images": stats.get("failed_images") or {},
        "failed_pages": failed_pages,
    }


# ------------------------------------------------------------------------------------ curate

def curate_stage(ctx: Context) -> dict[str, Any]:
    from curation.catalog import human_labels, open_catalog
    from curation.export import export_stats
    from curation.filter_model import INFO_KEY
    from curation.run import catalog_lock, curate

    root = ctx.ws.root
    ds = open_catalog(root)
    before = (ds.info.get(INFO_KEY) or {}).get("trained_at")
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
    return {
        "summary": f"{report.processed} new images: {report.faces} faces, {report.crops} new crops; "
                   f"catalog now {decisions.get('accepted', 0)} accepted, "
                   f"{decisions.get('rejected', 0)} rejected, {decisions.get('duplicate', 0)} duplicates",
        "new_images": report.processed,
        "already_curated": report.skipped,
        "faces": report.faces,
        "small_faces": report.small_faces,
        "new_crops": report.crops,
        "problems": report.problems[:20],
        "decisions": decisions,
        "rejection_reasons": reasons,
        "pollution_filter_retrained": bool(after and after != before),
        "pollution_filter": report.filter,
        "label_state": labels,
    }


# ------------------------------------------------------------------------------------ export

def latest_export(ws) -> Path | None:
    from curation.export import VERSION

    found = sorted((p for p in ws.exports_dir.glob("v*") if VERSION.match(p.name)),
                   key=lambda p: int(VERSION.match(p.name).group(1)))
    return found[-1] if found else None


def export_stage(ctx: Context) -> dict[str, Any]:
    from fiftyone import ViewField as F

    from curation.catalog import open_catalog
    from curation.export import export

    ws = ctx.ws
    ds = open_catalog(ws.root)
    accepted = set(ds.match(F("decision") == "accepted").distinct("sha256"))
    if not accepted:
        return {"summary": "no accepted crops: nothing to export", "version": None, "images": 0}
    latest = latest_export(ws)
    labels = ctx.result("curate").get("label_state") or {}
    if latest is not None and export_shas(latest) == accepted:
        if not (latest / "lineage.json").exists():
            write_export_lineage(latest, crawl_list=crawls(ws), labels=labels, run=ctx.run_id)
        return {"summary": f"accepted crops unchanged: reusing {latest.name} ({len(accepted)} images)",
                "version": latest.name, "images": len(accepted), "new_version": False}
    path = export(ws.root)
    lineage = write_export_lineage(path, crawl_list=crawls(ws), labels=labels, run=ctx.run_id)
    size = len(export_shas(path))
    return {"summary": f"exported {path.name}: {size} accepted crops", "version": path.name,
            "images": size, "new_version": True, "crawls": lineage["crawls"],
            "label_state": lineage["label_state"]}


# ------------------------------------------------------------------------------------- train

def trained_on(ws, pointer: dict | None) -> set[str]:
    """Crops of the export the promoted model was trained on (empty when unknown)."""
    if pointer is None:
        return set()
    export = export_of_run(ws, run_dir(ws, pointer))
    return export_shas(export) if export else set()


def _model_config(checkpoint: Path) -> dict[str, Any]:
    from gan.checkpoint import load_state, resolve_checkpoint

    return load_state(resolve_checkpoint(checkpoint))["config"]


def train_stage(ctx: Context) -> dict[str, Any]:
    from gan.checkpoint import list_checkpoints
    from gan.train import train

    ws, cfg = ctx.ws, ctx.cfg
    version = ctx.result("export").get("version")
    if version is None:
        return {"summary": "not trained: no export", "trained": False, "reason": "no accepted crops"}
    export_dir = ws.exports_dir / version
    shas = export_shas(export_dir)
    pointer = current(ws)
    promoted = current_checkpoint(ws)
    new = len(shas - trained_on(ws, pointer))
    decision = decide_training(cfg.pipeline, export_size=len(shas), new=new,
                               promoted_checkpoint=promoted, force=ctx.force_train)
    if not decision.train:
        return {"summary": f"not trained: {decision.reason}", "trained": False,
                "reason": decision.reason, "new_accepted": new, "export": version}
    tcfg = dataclasses.replace(cfg.train, steps=decision.steps, kimg=0)
    tcfg = dataclasses.replace(tcfg, **ctx.extra.get("train_overrides", {}))
    warm, warm_note = decision.warm_start_from, ""
    if warm is not None:
        saved = _model_config(warm)
        changed = [f for f in MODEL_FIELDS if saved.get(f) != getattr(tcfg, f)]
        if changed:
            warm_note = f"warm start impossible ({', '.join(changed)} changed): trained from scratch"
            warm = None
    run = ctx.run_dir
    resume = (run / "config.json").exists() and bool(list_checkpoints(run / "checkpoints"))
    if (run / "config.json").exists() and not resume:
        # Killed before its first checkpoint: nothing to resume; keep the log, start again.
        n = len(list(run.glob("metrics.attempt-*.jsonl"))) + 1
        if (run / "metrics.jsonl").exists():
            (run / "metrics.jsonl").rename(run / f"metrics.attempt-{n}.jsonl")
        (run / "config.json").unlink()
    if resume:
        ctx.log(f"train: resuming the interrupted training in {run.name}")
        # The weights came from what the first attempt started with (the promoted model may have
        # changed since): report that, not today's promoted model.
        start_rec = ctx.state.get("train_start") or {}
    else:
        start_rec = {"warm_start_from": str(warm) if warm is not None else None,
                     "warm_start_run": pointer["run"] if warm is not None else None,
                     "note": warm_note or ("warm start" if warm is not None else "from scratch")}
        ctx.state["train_start"] = start_rec
        save_state(run, ctx.state)  # before the first step: a killed run still knows its origin
    sanity = None  # the workspace's first training: overfit 20 images first (gan/sanity.py)
    if not resume and pointer is None and cfg.pipeline.sanity_check and ctx.extra.get("sanity", True):
        from gan.sanity import sanity_check_in

        check = sanity_check_in(tcfg, export_dir, ws.root)
        ctx.log(f"train: {check.verdict}")
        if not check.passed:
            raise UserError(f"{check.verdict} (off: [pipeline] sanity_check = false, or --no-sanity)")
        sanity = check.verdict
    result = train(tcfg, export_dir, run, resume=resume, init_from=None if resume else warm, log=ctx.log)
    if result.stopped:  # SIGINT / SIGTERM: checkpointed; this stage fails and the next pipeline resumes it
        raise UserError(f"training stopped by {result.stopped} at step {result.step} (checkpointed); "
                        "the next `studio pipeline` resumes it")
    ckpt = result.best_checkpoint or result.checkpoint
    warm_from = start_rec.get("warm_start_from")
    start = (f"warm start from {start_rec.get('warm_start_run')}" if warm_from
             else start_rec.get("note") or "from scratch")
    if resume:
        start += ", resumed after an interruption"
    metrics = {k: v for k, v in result.metrics.items() if isinstance(v, int | float)}
    return {
        "summary": f"trained {result.step} steps on {version} ({len(shas)} images, {new} new; {start})",
        "trained": True,
        "reason": decision.reason,
        "export": version,
        "new_accepted": new,
        "steps": result.step,
        "warm_start_from": warm_from,  # the checkpoint whose weights started this run (None: scratch)
        "resumed": resume,
        "checkpoint": str(ckpt.relative_to(run)),
        "final_metrics": metrics,
        "resolution": tcfg.resolution,
        "device": json.loads((run / "config.json").read_text()).get("device"),
        "sanity": sanity,
    }


# ---------------------------------------------------------------------------------- evaluate

def evaluate_stage(ctx: Context) -> dict[str, Any]:
    from gan.train import pick_device
    from studio.evaluate import evaluate_checkpoint, model_resolution

    trained = ctx.result("train")
    if not trained.get("trained"):
        return {"summary": "nothing to evaluate (no new model)", "evaluated": False}
    ws, pcfg = ctx.ws, ctx.cfg.pipeline
    export_dir = ws.exports_dir / trained["export"]
    new_ckpt = ctx.run_dir / trained["checkpoint"]
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
    return {
        "summary": f"{line} on {trained['export']} ({pcfg.eval_images} images, seed {pcfg.eval_seed}, {side} px)",
        "evaluated": True,
        "eval_set": {"export": trained["export"], "images": pcfg.eval_images, "seed": pcfg.eval_seed,
                     "resolution": side},
        "new": new,
        "promoted_before": old,
        "promoted_run": promoted["run"] if promoted and old is not None else None,
    }


# ----------------------------------------------------------------------------------- promote

def promote_stage(ctx: Context) -> dict[str, Any]:
    from studio.gate import decide

    ev, trained = ctx.result("evaluate"), ctx.result("train")
    if not ev.get("evaluated"):
        return {"summary": f"no new model; the promoted model stays ({trained.get('reason', 'not trained')})",
                "promoted": False}
    metrics = {k: v for k, v in ev["new"].items() if k in ("swd", "fid", "kid")}
    old = ev.get("promoted_before")
    gate = decide(metrics, old and {k: v for k, v in old.items() if k in ("swd", "fid", "kid")},
                  ctx.cfg.pipeline.tolerance)
    result = {"promoted": gate.promote, "metric": gate.metric, "new": gate.new, "old": gate.old,
              "limit": gate.limit, "tolerance": ctx.cfg.pipeline.tolerance, "reason": gate.reason}
    if gate.promote:
        promote(ctx.ws, ctx.run_dir, ctx.run_dir / trained["checkpoint"], export=trained["export"],
                metrics=metrics, reason=gate.reason)
        result["summary"] = f"promoted {ctx.run_id}: {gate.reason}"
    else:
        result["summary"] = f"NOT promoted ({ctx.run_id} kept): {gate.reason}"
    return result


STAGES = [
    ("crawl", crawl_stage),
    ("curate", curate_stage),
    ("export", export_stage),
    ("train", train_stage),
    ("evaluate", evaluate_stage),
    ("promote", promote_stage),
]
