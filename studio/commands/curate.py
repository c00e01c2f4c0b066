"""`studio curate`: detect, crop, score, dedup, flag and catalog the crawled images (incremental)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from studio.config import load_config, override
from studio.errors import user_errors
from studio.options import WorkspaceOpt
from studio.workspace import Workspace


def curate(
    workspace: WorkspaceOpt = Path("studio-data"),
    detector: Annotated[str | None, typer.Option("--detector", help="anime, human, or module:factory.")] = None,
    cascade: Annotated[Path | None, typer.Option(
        "--cascade", help="Another anime cascade XML (default: the one shipped with GAN Studio).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Detection processes.")] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
) -> None:
    """Detect and crop faces in raw/, score, dedup, flag pollution and catalog them (incremental)."""
    from curation.errors import CurationError
    from curation.run import curate as run_curate
    from curation.scoring import accuracy_summary

    ws = Workspace.at(workspace).require().require_space()
    cfg = override(load_config(ws.config_path).curate, detector=detector,
                   cascade=str(cascade) if cascade else None, workers=workers)
    with user_errors(CurationError), ws.lock("curate"), ws.lock("catalog"):
        report = run_curate(ws.root, cfg, progress=progress)
    for problem in report.problems:
        print(f"studio: skipped {problem}", file=sys.stderr)
    if report.reanalysed:
        typer.echo(f"analysed again: {report.reanalysed} images curated by an older version, for the "
                   "pollution signals it lacked (labels kept)")
    d = report.decisions
    typer.echo(f"curated {report.processed} new images ({report.skipped} already done): "
               f"{report.faces} faces, {report.crops} crops, {report.small_faces} too small, "
               f"{len(report.problems)} unreadable")
    if report.left_for_retry:  # the machine failed, not the images: say so, and that they come back
        typer.echo(report.retry_line())
    typer.echo(f"catalog: {d.get('accepted', 0)} accepted, {d.get('rejected', 0)} rejected, "
               f"{d.get('duplicate', 0)} duplicates in {report.groups} groups")
    if report.rejected_by:
        typer.echo("rejected by: " + ", ".join(f"{reason} {n}" for reason, n in report.rejected_by.items()))
    for warning in report.rule_warnings:
        typer.echo(f"rule {warning}")
    if report.rule_warnings:
        typer.echo("see `studio rules` (or the Overview); `studio rules off RULE --domain DOMAIN` "
                   "switches a rule off for a source")
    # The honest summary: accuracy with its 95 % interval against the chance level.
    typer.echo(f"pollution filter: {accuracy_summary(report.filter)['text']}")
