"""`studio status`: counts per stage, runs and the promoted model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from crawler.manifest import read_manifest
from crawler.report import list_crawls
from curation.export import list_exports
from studio.lineage import chain
from studio.models import current
from studio.options import WorkspaceOpt
from studio.workspace import Workspace


def collect_status(ws: Workspace) -> dict[str, Any]:
    """What each stage holds, read from the workspace files (cheap: no database needed)."""
    manifest = list(read_manifest(ws.raw_manifest))
    crawls = [c.id for c in list_crawls(ws.crawl_dir)]
    exports = [p.name for p in list_exports(ws.exports_dir)]
    runs = sorted(p.name for p in ws.runs_dir.iterdir() if p.is_dir()) if ws.runs_dir.exists() else []
    promoted = current(ws)
    return {
        "workspace": str(ws.root),
        "crawl": {
            "image_urls": len(manifest),
            "images": len({m["sha256"] for m in manifest}),
            "crawls": len(crawls),
            "last_crawl": crawls[-1] if crawls else None,
        },
        "faces": sum(1 for _ in ws.faces_dir.glob("*/*.png")) if ws.faces_dir.exists() else 0,
        "exports": exports,
        "runs": runs,
        "promoted": promoted,
        "lineage": chain(ws),
        "funnel": _funnel(ws),
    }


def _funnel(ws: Workspace) -> dict[str, Any] | None:
    """crawled → detected → cropped → unique → accepted per source domain, from the catalog.

    Only when a catalog can exist (a db/ folder or a configured database): status must not
    start a database for a workspace that was never curated.
    """
    from curation.catalog import catalog_exists, database_configured, funnel

    if not database_configured(ws.root):
        return None
    from curation.errors import CurationError

    try:
        return funnel(ws.root) if catalog_exists(ws.root) else None
    except CurationError as exc:
        return {"error": str(exc)}


def status(
    workspace: WorkspaceOpt = Path("studio-data"),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Counts per stage, runs and the promoted model."""
    info = collect_status(Workspace.at(workspace).require())
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    crawl = info["crawl"]
    typer.echo(f"workspace  {info['workspace']}")
    typer.echo(f"crawled    {crawl['images']} images from {crawl['image_urls']} URLs in {crawl['crawls']} crawls")
    typer.echo(f"faces      {info['faces']} crops")
    typer.echo(f"exports    {len(info['exports'])}" + (f" (latest {info['exports'][-1]})" if info["exports"] else ""))
    typer.echo(f"runs       {len(info['runs'])}" + (f" (latest {info['runs'][-1]})" if info["runs"] else ""))
    f = info.get("funnel")
    if f and "error" not in f:
        typer.echo(f"curated    {f['crawled']} crawled → {f['detected']} with faces → {f['cropped']} crops"
                   f" → {f['unique']} unique → {f['accepted']} accepted")
    promoted = info["promoted"]
    typer.echo(f"promoted   {promoted['run'] if promoted else 'none'}")
    for line in lineage_lines(info["lineage"]):
        typer.echo(line)


def lineage_lines(lineage: dict[str, Any] | None) -> list[str]:
    """The chain from the promoted model back to its sources, one link a line."""
    if not lineage:
        return []
    model, export = lineage["model"], lineage["export"]
    metrics = ", ".join(f"{k} {v:.4g}" for k, v in model["metrics"].items() if k in ("swd", "fid"))
    lines = [f"  model    {model['run']} {model.get('checkpoint') or ''}" + (f" ({metrics})" if metrics else "")]
    if export is None:
        return [*lines, "  ← data   not an export of this workspace"]
    lines.append(f"  ← export {export['version']} ({export['images']} crops)")
    if lineage.get("crawls") is not None:
        lines.append(f"  ← crawls {', '.join(lineage['crawls']) or 'none'}")
        labels = lineage.get("label_state") or {}
        lines.append(f"  ← labels {labels.get('labels', 0)} ({labels.get('accept', 0)} accept, "
                     f"{labels.get('reject', 0)} reject; digest {labels.get('digest', '?')})")
        lines.append(f"  ← sources {', '.join(lineage.get('sources') or []) or 'none'}")
    return lines
