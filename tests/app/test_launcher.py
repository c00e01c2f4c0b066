"""`studio app`: a real Streamlit server on 127.0.0.1 with the studio's settings."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from studio.commands.app import streamlit_command
from tests.app.app_helpers import ENTRY, free_port, running_app, wait_http
from tests.helpers import studio_in_process


def test_command_binds_loopback_with_safe_settings():
    cmd = streamlit_command(8765)
    assert "--server.address=127.0.0.1" in cmd and "--server.port=8765" in cmd
    for setting in ("--server.headless=true", "--browser.gatherUsageStats=false",
                    "--server.maxUploadSize=10", "--server.fileWatcherType=none"):
        assert setting in cmd


@pytest.mark.server
@pytest.mark.cli
def test_app_serves_on_loopback_only(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "studio.toml").write_text("")
    port = free_port()
    with running_app(ws, port):
        assert wait_http(f"http://127.0.0.1:{port}/_stcore/health") == "ok"
        # Not reachable on another address of this machine (when it has one).
        other = _non_loopback_address()
        if other:
            with socket.socket() as s:
                s.settimeout(2)
                assert s.connect_ex((other, port)) != 0


def test_port_in_use_is_one_line(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "studio.toml").write_text("")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = studio_in_process("app", "-w", ws, "--port", port)  # refused before Streamlit starts
    assert r.returncode == 2
    assert f"port {port}" in r.stderr and r.stderr.count("\n") == 1


def test_missing_workspace_is_one_line(tmp_path):
    r = studio_in_process("app", "-w", tmp_path / "none")
    assert r.returncode == 2 and "studio init" in r.stderr and "Traceback" not in r.stderr


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))  # no packet is sent; picks the outgoing interface
            addr = s.getsockname()[0]
        except OSError:
            return None
    return None if addr.startswith("127.") else addr


@pytest.mark.cli
def test_the_entry_script_prefers_its_own_checkout_over_another_on_the_path(tmp_path):
    """Another checkout's `app` first on sys.path (installed editable, or on PYTHONPATH) must not
    serve its pages under this main.py."""
    decoy = tmp_path / "decoy" / "app"
    decoy.mkdir(parents=True)
    (decoy / "__init__.py").write_text("")
    (decoy / "common.py").write_text("raise SystemExit('the decoy checkout was imported')\n")
    code = ("from streamlit.testing.v1 import AppTest\n"
            f"at = AppTest.from_file({str(ENTRY)!r}, default_timeout=60).run()\n"
            "assert not at.exception, [e.value for e in at.exception]\n"
            "import app.common\n"
            "print(app.common.__file__)\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "decoy"), "STUDIO_WORKSPACE": str(tmp_path / "none")}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == str(ENTRY.parent / "common.py")
