"""`studio merge`: bring the images of other workspaces (crawl workers) into this one."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer

from studio.errors import UserError
from studio.options import WorkspaceOpt
from studio.workspace import Workspace


def merge(
    sources: Annotated[list[Path], typer.Argument(help="Workspaces to merge from (e.g. the crawl workers').")],
    workspace: WorkspaceOpt = Path("studio-data"),
) -> None:
    """Copy raw images, manifest lines and rejections the workspace lacks from SOURCES (idempotent)."""
    from crawler.merge import merge_raw
    from crawler.store import StorageFailed

    ws = Workspace.at(workspace).require()
    others = [Workspace.at(s).require() for s in sources]
    if any(o.root == ws.root for o in others):
        raise UserError(f"cannot merge {ws.root} into itself")
    with ExitStack() as stack:
        # No crawl may write to the target or a source while their manifests are read.
        for w in (ws, *others):
            stack.enter_context(w.lock("crawl"))
        try:
            r = merge_raw(ws.raw_dir, ws.crawl_dir / "rejected.jsonl",
                          [(o.raw_dir, o.crawl_dir / "rejected.jsonl") for o in others])
        except StorageFailed as exc:
            raise UserError(str(exc)) from None
        except OSError as exc:
            raise UserError(f"cannot write {exc.filename or ws.root}: {exc.strerror or exc}") from None
    typer.echo(
        f"merged {len(others)} workspaces into {ws.root}: {r.lines_added} manifest lines added "
        f"({r.lines_known} already there), {r.files_copied} files copied ({r.files_present} already there), "
        f"{r.rejects_added} rejections, {r.bad} bad lines skipped"
    )
