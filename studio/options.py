"""Options shared by every `studio` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from studio.workspace import DEFAULT_WORKSPACE

WorkspaceOpt = Annotated[
    Path,
    typer.Option(
        "--workspace",
        "-w",
        envvar="STUDIO_WORKSPACE",
        help="Workspace folder.",
        show_default=str(DEFAULT_WORKSPACE),
    ),
]
