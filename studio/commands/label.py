"""`studio label`: open the FiftyOne App on the workspace's catalog (127.0.0.1 only)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from studio.commands.app import check_port_free
from studio.errors import UserError, user_errors
from studio.options import WorkspaceOpt
from studio.workspace import Workspace


def label(
    workspace: WorkspaceOpt = Path("studio-data"),
    port: Annotated[int, typer.Option("--port", help="Port of the App on 127.0.0.1.")] = 5151,
) -> None:
    """Open the FiftyOne App on the catalog; tag crops `accept` or `reject`, then `studio curate`."""
    from curation.catalog import ensure_saved_views, open_catalog
    from curation.errors import CurationError

    ws = Workspace.at(workspace).require()
    with user_errors(CurationError):
        ds = open_catalog(ws.root)
        ensure_saved_views(ds)
        import fiftyone as fo

        from studio.hostcheck import start_fiftyone
        from studio.notices import quiet_fiftyone

        quiet_fiftyone()
        check_port_free(port)
        # Said before the server starts, so whoever sees the App answer has seen the URL line.
        typer.echo(f"FiftyOne App: http://127.0.0.1:{port}/ (saved views: review queue, duplicates, "
                   "rejected, accepted; tag crops `accept` or `reject`). Ctrl-C to stop.")
        # Our server (FiftyOne's app behind a Host check against DNS rebinding) is up first, so
        # launch_app finds it on the port and connects instead of starting its own.
        try:
            server = start_fiftyone("127.0.0.1", port, media_root=ws.root)  # its files only
        except RuntimeError as exc:
            raise UserError(str(exc)) from None
        session = fo.launch_app(ds, address="127.0.0.1", port=port, remote=True, auto=False)
    try:
        session.wait(-1)
    finally:
        server.terminate()
        server.wait(timeout=10)
