"""`studio export`: write a versioned training set of the accepted crops, with its lineage."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from studio.errors import user_errors
from studio.options import WorkspaceOpt
from studio.workspace import Workspace


def export(
    workspace: WorkspaceOpt = Path("studio-data"),
    out: Annotated[Path | None, typer.Option("--out", help="Folder to create (default: exports/<version>).")] = None,
) -> None:
    """Write exports/<version>/ (images/, manifest.jsonl, stats.json, lineage.json); never overwrites."""
    from curation.catalog import human_labels, open_catalog
    from curation.errors import CurationError
    from curation.export import export as run_export
    from studio.lineage import crawls, label_state, write_export_lineage

    ws = Workspace.at(workspace).require()
    with user_errors(CurationError), ws.lock("catalog", wait=30):
        target = run_export(ws.root, out)
        # The labels as they were when the crops were chosen (the catalog lock is still held).
        labels = label_state(human_labels(open_catalog(ws.root)))
    # As the pipeline's exports: which crawls, sources and labels this set was made from.
    write_export_lineage(target, crawl_list=crawls(ws), labels=labels, run="studio export")
    n = sum(1 for _ in (target / "images").iterdir())
    typer.echo(f"exported {n} crops to {target}")
