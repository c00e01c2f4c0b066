"""`studio app`: the Streamlit app on 127.0.0.1, reading the workspace's catalog, runs and models."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path
from typing import Annotated

import typer

from curation.children import die_with_parent, python_command, python_env
from studio.errors import UserError
from studio.hostcheck import allowed_hosts
from studio.options import WorkspaceOpt
from studio.workspace import Workspace

ENTRY = Path(__file__).resolve().parents[2] / "app" / "main.py"
ADDRESS = "127.0.0.1"  # loopback only: the app writes labels and starts runs, so never expose it
MAX_UPLOAD_MB = 10  # the Complete page takes one image; anything bigger is refused by the server


def streamlit_command(port: int) -> list[str]:
    """The `streamlit run` command line with the studio's server settings."""
    return [
        *python_command("streamlit", "run", ENTRY),
        f"--server.address={ADDRESS}",
        f"--server.port={port}",
        "--server.headless=true",  # no browser opened on the server machine
        f"--server.maxUploadSize={MAX_UPLOAD_MB}",
        "--server.fileWatcherType=none",  # no reloads while users work; saves a thread
        "--server.runOnSave=false",
        "--browser.gatherUsageStats=false",  # no telemetry (and no internet needed)
        "--global.developmentMode=false",
        "--client.toolbarMode=minimal",  # no "Deploy" button: this app is local
        # DNS rebinding: the websocket (every action of the app) only under the bound address
        *(f"--server.allowedHosts={name}" for name in allowed_hosts(ADDRESS)),
        "--server.enableXsrfProtection=true",
    ]


def check_port_free(port: int) -> None:
    """Fail with one line now rather than with Streamlit's log when the port is taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((ADDRESS, port))
        except OSError:
            raise UserError(f"port {port} on {ADDRESS} is in use (choose another with --port)") from None


def run_app(
    workspace: WorkspaceOpt = Path("studio-data"),
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port on 127.0.0.1.")] = 8501,
) -> None:
    """Open the Streamlit app on 127.0.0.1 (browse, label, train, generate)."""
    ws = Workspace.at(workspace).require()
    check_port_free(port)
    # The pages find the workspace through the same variable the `--workspace` option reads.
    env = python_env({**os.environ, "STUDIO_WORKSPACE": str(ws.root)})
    typer.echo(f"GAN Studio on http://{ADDRESS}:{port} (workspace {ws.root}); Ctrl-C stops it")
    # Streamlit ends with this process however it ends (kill -9 too); SIGTERM is passed on.
    with subprocess.Popen(streamlit_command(port), env=env, preexec_fn=die_with_parent) as server:
        signal.signal(signal.SIGTERM, lambda *_: server.terminate())
        try:
            code = server.wait()
        except KeyboardInterrupt:  # Streamlit got the same Ctrl-C: let it finish shutting down
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.terminate()
            code = 0
    raise typer.Exit(0 if code in (0, -signal.SIGTERM) else code)
