"""`studio schedule [--once]`: run the pipeline on the `[schedule]` cron expression (APScheduler)."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path
from typing import Annotated

import typer

from studio.config import load_config
from studio.options import WorkspaceOpt
from studio.workspace import Workspace


def schedule(
    workspace: WorkspaceOpt = Path("studio-data"),
    once: Annotated[bool, typer.Option("--once", help="Run the pipeline job once now and exit.")] = False,
) -> None:
    """Run `studio pipeline` on the cron expression in studio.toml until stopped (Ctrl-C)."""
    from studio.scheduler import build_scheduler, run_pipeline_job, schedule_path, setup_logging

    ws = Workspace.at(workspace).require()
    cfg = load_config(ws.config_path)
    log_path = setup_logging(ws)
    if once:
        raise typer.Exit(run_pipeline_job(str(ws.root), echo=True))
    with ws.lock("schedule"):  # one scheduler per workspace
        scheduler = build_scheduler(ws, cfg)
        typer.echo(f"scheduling `studio pipeline` on cron {cfg.schedule.cron!r} (state "
                   f"{schedule_path(ws)}, log {log_path}); Ctrl-C stops")
        # systemd stops services with SIGTERM: end the loop cleanly (a running job's child goes on
        # to its own end or the pipeline's next run resumes it).
        signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
        with contextlib.suppress(KeyboardInterrupt, SystemExit):
            scheduler.start()
