"""`studio rules [off|on RULE --domain D]`: what each pollution rule did on each source, and the
switch that turns a rule off for a source whose style it misreads."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from studio.errors import user_errors
from studio.options import WorkspaceOpt
from studio.workspace import Workspace

rules_app = typer.Typer(help="The pollution rules per source: list them, switch one off or on.",
                        invoke_without_command=True)
DomainOpt = Annotated[str, typer.Option("--domain", help="The source domain (default: every source).")]
RuleArg = Annotated[str, typer.Argument(help="cat, disagree, occluded, human_face, photo or blurred.")]


@rules_app.callback()
def show(ctx: typer.Context, workspace: WorkspaceOpt = Path("studio-data")) -> None:
    """List every rule that fired, per source, the most suspicious first."""
    if ctx.invoked_subcommand:
        return
    from curation.catalog import open_catalog
    from curation.errors import CurationError
    from curation.rules import rule_uses

    ws = Workspace.at(workspace).require()
    with user_errors(CurationError):
        uses = rule_uses(open_catalog(ws.root))
    if not uses:
        typer.echo("no rule fired on any crop")
    for use in uses:
        typer.echo(use.line)


def _switch(rule: str, domain: str, workspace: Path, on: bool) -> None:
    from curation.catalog import open_catalog
    from curation.errors import CurationError
    from curation.rescoring import rescore_now
    from curation.rules import set_rule

    ws = Workspace.at(workspace).require()
    with user_errors(CurationError), ws.lock("catalog", wait=30):
        ds = open_catalog(ws.root)
        set_rule(ds, rule, domain, on=on)
        counts = rescore_now(ds)
    where = "every source" if domain == "*" else domain
    typer.echo(f"{rule} is {'on' if on else 'off'} for {where}; now {counts.get('accepted', 0)} "
               f"accepted, {counts.get('rejected', 0)} rejected")


@rules_app.command("off")
def off(rule: RuleArg, domain: DomainOpt = "*", workspace: WorkspaceOpt = Path("studio-data")) -> None:
    """Switch a rule off for a source (its crops are rescored at once)."""
    _switch(rule, domain, workspace, on=False)


@rules_app.command("on")
def on(rule: RuleArg, domain: DomainOpt = "*", workspace: WorkspaceOpt = Path("studio-data")) -> None:
    """Switch a rule back on for a source."""
    _switch(rule, domain, workspace, on=True)
