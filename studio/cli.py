"""The `studio` command line: registers the commands and turns user errors into one line."""

from __future__ import annotations

import sys

import typer

from studio.commands.app import run_app
from studio.commands.complete import complete
from studio.commands.crawl import crawl
from studio.commands.curate import curate
from studio.commands.directions import directions
from studio.commands.export import export
from studio.commands.init import init
from studio.commands.label import label
from studio.commands.labels import labels_app
from studio.commands.merge import merge
from studio.commands.pipeline import pipeline
from studio.commands.project import project
from studio.commands.rules import rules_app
from studio.commands.sample import sample
from studio.commands.schedule import schedule
from studio.commands.status import status
from studio.commands.train import train
from studio.demo.command import demo
from studio.errors import UserError, environment_problem
from studio.options import WholeSentenceGroup

app = typer.Typer(
    name="studio",
    help="GAN Studio: crawl images, curate a face dataset, train and explore a DCGAN.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help: Rich markup ate "[sources] urls" from our texts, and Rich's option table
    # cut long words ("…") at 80 columns; click wraps them instead.
    rich_markup_mode=None,
    cls=WholeSentenceGroup,
)
# In the order of the loop: crawl → curate → label → export → train → sample → app; then automation.
app.command()(init)
app.command()(crawl)
app.command()(merge)
app.command()(curate)
app.command()(label)
app.add_typer(labels_app, name="labels", cls=WholeSentenceGroup)
app.add_typer(rules_app, name="rules", cls=WholeSentenceGroup)
app.command()(export)
app.command()(train)
app.command()(sample)
app.command()(project)
app.command()(complete)
app.command()(directions)
app.command("app")(run_app)
app.command()(pipeline)
app.command()(schedule)
app.command()(status)
app.command()(demo)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: exit 0 on success, 2 with one line on stderr for user errors."""
    # Typer handles usage errors and Ctrl-C itself (standalone mode); our UserError passes through.
    try:
        app(args=argv, prog_name="studio")
    except UserError as exc:
        print(f"studio: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:
        problem = environment_problem(exc)
        if problem is None:
            raise
        print(f"studio: error: {problem}", file=sys.stderr)
        sys.exit(2)
