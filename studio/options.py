"""Options shared by the `studio` commands (each defined once, in one style: `Annotated`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import click
import typer
from typer.core import TyperGroup

from studio.workspace import DEFAULT_WORKSPACE


def workspace_option(default: Path = DEFAULT_WORKSPACE):
    """The `--workspace` option (also `$STUDIO_WORKSPACE`); `default` is what its help shows."""
    return typer.Option(
        "--workspace", "-w", envvar="STUDIO_WORKSPACE", help="Workspace folder.", show_default=str(default)
    )


WorkspaceOpt = Annotated[Path, workspace_option()]
DemoWorkspaceOpt = Annotated[Path, workspace_option(Path("demo-data"))]
# The commands that use a trained generator (sample, project, complete, directions).
RunOpt = Annotated[Path | None, typer.Option("--run", help="Run folder, run id or checkpoint folder "
                                             "(default: the promoted model, models/current.json).")]
DeviceOpt = Annotated[str, typer.Option("--device", help="cpu or cuda.")]


class WholeSentenceGroup(TyperGroup):
    """Lists each command with its first sentence whole (wrapped), where click cuts it with
    "..." to fit 80 columns, the width of every pipe and cron mail."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
