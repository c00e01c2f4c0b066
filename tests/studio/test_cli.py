"""The `studio` command: exit codes and one-line errors, through a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def studio(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "studio", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_init_then_status_json(tmp_path):
    ws = tmp_path / "ws"
    r = studio("init", "--workspace", str(ws), "--url", "http://127.0.0.1:1/")
    assert r.returncode == 0, r.stderr
    assert 'urls = ["http://127.0.0.1:1/"]' in (ws / "studio.toml").read_text()
    r = studio("status", "--json", env={"STUDIO_WORKSPACE": str(ws)})
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["workspace"] == str(ws.resolve())
    assert info["crawl"]["images"] == 0 and info["promoted"] is None


def test_user_error_is_one_line_exit_2(tmp_path):
    r = studio("status", "--workspace", str(tmp_path / "nothing"))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "no workspace at" in r.stderr
    assert "Traceback" not in r.stderr


def test_bad_config_is_reported_by_init(tmp_path):
    (tmp_path / "studio.toml").write_text("[crawl]\nspeed = 'max'\n")
    r = studio("init", "--workspace", str(tmp_path))
    assert r.returncode == 2
    assert "unknown key 'speed'" in r.stderr and "Traceback" not in r.stderr


def test_unknown_command_is_a_usage_error():
    r = studio("frobnicate")
    assert r.returncode == 2
