"""Options shared by every `studio` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from studio.workspace import DEFAULT_WORKSPACE


def workspace_option(default: Path = DEFAULT_WORKSPACE):
    """The `--workspace` option (also `$STUDIO_WORKSPACE`); `default` is what its help shows."""
    return typer.Option(
        "--workspace", "-w", envvar="STUDIO_WORKSPACE", help="Workspace folder.", show_default=str(default)
    )


WorkspaceOpt = Annotated[Path, workspace_option()]
DemoWorkspaceOpt = Annotated[Path, workspace_option(Path("demo-data"))]
