"""`studio pipeline`: one incremental crawl → curate → export → train → evaluate → promote run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from studio.config import load_config
from studio.options import WorkspaceOpt
from studio.workspace import Workspace


def pipeline(
    workspace: WorkspaceOpt = Path("studio-data"),
    train: Annotated[bool, typer.Option("--train", help="Retrain even if the policy would not.")] = False,
    notify: Annotated[str | None, typer.Option("--notify", metavar="URL",
                                        help="Post the report to this chat webhook (Slack, Discord or JSON).")] = None,
    sanity: Annotated[bool, typer.Option("--sanity/--no-sanity", help="Overfit ~20 images before the workspace's "
                                         "first training ([pipeline] sanity_check).")] = True,
) -> None:
    """One incremental run: crawl → curate → export → train → evaluate → promote (resumes a failed run)."""
    from studio.pipeline import run_pipeline

    ws = Workspace.at(workspace).require()
    cfg = load_config(ws.config_path)
    report = run_pipeline(ws, cfg, force_train=train, notify=notify, log=typer.echo, extra={"sanity": sanity})
    typer.echo(f"pipeline run {report['run']}: {report['decision']}")
