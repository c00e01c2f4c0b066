"""`studio init`: create a workspace with a commented studio.toml."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from curation.catalog.identity import workspace_id
from records import write_atomic_text
from studio.config import config_text, load_config
from studio.options import WorkspaceOpt
from studio.workspace import Workspace


def init(
    workspace: WorkspaceOpt = Path("studio-data"),
    url: Annotated[list[str] | None, typer.Option("--url", help="Start page(s) to put in [sources].")] = None,
) -> None:
    """Create a workspace with a commented studio.toml."""
    ws = Workspace.at(workspace)
    if ws.exists():
        load_config(ws.config_path)  # still valid? say so now rather than at the next crawl
        typer.echo(f"workspace already exists at {ws.root}")
        return
    text = config_text({"sources": {"urls": list(url)}} if url else {})
    ws.root.mkdir(parents=True, exist_ok=True)
    write_atomic_text(ws.config_path, text)
    load_config(ws.config_path)
    workspace_id(ws.root)  # names its catalog, so the folder can move with its labels
    typer.echo(f"created workspace at {ws.root} (edit {ws.config_path.name}, then `studio crawl`)")
