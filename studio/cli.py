"""The `studio` command line: registers the commands and turns user errors into one line."""

from __future__ import annotations

import sys

import click
import typer

from studio.commands.init import init
from studio.commands.status import status
from studio.errors import UserError

app = typer.Typer(
    name="studio",
    help="GAN Studio: crawl images, curate a face dataset, train and explore a DCGAN.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(init)
app.command()(status)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: exit 0 on success, 2 with one line on stderr for user errors."""
    try:
        app(args=argv, prog_name="studio", standalone_mode=False)
    except UserError as exc:
        print(f"studio: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        print("studio: interrupted", file=sys.stderr)
        sys.exit(130)
