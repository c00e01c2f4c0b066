"""The `studio` command: exit codes and one-line errors, through its entry point in-process (and
once through a real child process, as a user runs it)."""

from __future__ import annotations

import json

import pytest

from tests.helpers import studio, studio_in_process


def test_init_then_status_json(tmp_path):
    ws = tmp_path / "ws"
    r = studio_in_process("init", "--workspace", ws, "--url", "http://127.0.0.1:1/")
    assert r.returncode == 0, r.stderr
    assert 'urls = ["http://127.0.0.1:1/"]' in (ws / "studio.toml").read_text()
    r = studio_in_process("status", "--json", env={"STUDIO_WORKSPACE": str(ws)})
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["workspace"] == str(ws.resolve())
    assert info["crawl"]["images"] == 0 and info["promoted"] is None


@pytest.mark.cli
def test_init_then_status_json_in_a_child_process(tmp_path):
    ws = tmp_path / "ws"
    r = studio("init", "--workspace", ws, "--url", "http://127.0.0.1:1/", timeout=120)
    assert r.returncode == 0, r.stderr
    r = studio("status", "--json", env={"STUDIO_WORKSPACE": str(ws)}, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["workspace"] == str(ws.resolve())
    r = studio("status", "--workspace", tmp_path / "nothing", timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no workspace at" in r.stderr


def test_user_error_is_one_line_exit_2(tmp_path):
    r = studio_in_process("status", "--workspace", tmp_path / "nothing")
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "no workspace at" in r.stderr
    assert "Traceback" not in r.stderr


def test_bad_config_is_reported_by_init(tmp_path):
    (tmp_path / "studio.toml").write_text("[crawl]\nspeed = 'max'\n")
    r = studio_in_process("init", "--workspace", tmp_path)
    assert r.returncode == 2
    assert "unknown key 'speed'" in r.stderr and "Traceback" not in r.stderr


def test_unknown_command_is_a_usage_error():
    r = studio_in_process("frobnicate")
    assert r.returncode == 2
