"""`studio export`: write a versioned training set of the accepted crops."""

from __future__ import annotations

from pathlib import Path

import typer

from studio.errors import user_errors
from studio.options import WorkspaceOpt
from studio.workspace import Workspace


def export(
    workspace: WorkspaceOpt = Path("studio-data"),
    out: Path = typer.Option(None, "--out", help="Folder to create (default: exports/<version>)."),
) -> None:
    """Write exports/<version>/ (images/, manifest.jsonl, stats.json); never overwrites."""
    from curation.errors import CurationError
    from curation.export import export as run_export

    ws = Workspace.at(workspace).require()
    with user_errors(CurationError), ws.lock("catalog", wait=30):
        target = run_export(ws.root, out)
    n = sum(1 for _ in (target / "images").iterdir())
    typer.echo(f"exported {n} crops to {target}")
