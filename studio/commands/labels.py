"""`studio labels import|export FILE.csv`: bulk human labels (sha256,label[,reason])."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from studio.errors import user_errors
from studio.options import WorkspaceOpt
from studio.workspace import Workspace

labels_app = typer.Typer(help="Bulk labels as CSV: sha256,label[,reason]; label is accept or reject.",
                         no_args_is_help=True)


@labels_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="CSV file: sha256,label[,reason] (crop sha256).")],
    workspace: WorkspaceOpt = Path("studio-data"),
) -> None:
    """Apply labels from a CSV file; bad rows and unknown hashes are reported, not applied.

    Labels are journaled: once this reports them they survive a crash. An import that was
    interrupted is finished by the next one (any file, even an empty one)."""
    from curation.errors import CurationError
    from curation.labels_csv import import_labels

    ws = Workspace.at(workspace).require()
    with user_errors(CurationError), ws.lock("catalog", wait=30):
        report = import_labels(ws.root, file)
    if report.resumed:
        print(f"studio: {report.resumed}", file=sys.stderr)
    for line in report.problem_lines():  # the first few of each kind, then a count
        print(f"studio: {line}", file=sys.stderr)
    typer.echo(f"applied {report.applied} labels ({len(report.bad)} bad rows, "
               f"{len(report.unknown)} unknown hashes); run `studio curate` to retrain the filter")


@labels_app.command("export")
def export_(
    file: Annotated[Path, typer.Argument(help="CSV file to write.")],
    workspace: WorkspaceOpt = Path("studio-data"),
) -> None:
    """Write every human label to a CSV file."""
    from curation.errors import CurationError
    from curation.labels_csv import export_labels

    ws = Workspace.at(workspace).require()
    with user_errors(CurationError):
        n = export_labels(ws.root, file)
    typer.echo(f"wrote {n} labels to {file}")
