"""Workspace files: atomic writes, torn JSONL lines, and the per-stage lock across processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from studio.errors import UserError
from studio.workspace import Workspace, append_jsonl, atomic_write_bytes, read_jsonl


def test_atomic_write_leaves_no_temp_files(tmp_path):
    target = tmp_path / "a" / "b.bin"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["b.bin"]


def test_read_jsonl_skips_a_torn_last_line(tmp_path):
    path = tmp_path / "m.jsonl"
    append_jsonl(path, {"a": 1})
    append_jsonl(path, {"a": 2})
    with open(path, "a") as f:
        f.write('{"a": 3')  # a writer killed mid-line
    assert [r["a"] for r in read_jsonl(path)] == [1, 2]


def test_second_process_cannot_take_a_held_stage_lock(tmp_path):
    ws = Workspace.at(tmp_path)
    holder = textwrap.dedent(
        f"""
        import sys, time
        from studio.workspace import Workspace
        with Workspace.at({str(tmp_path)!r}).lock("crawl"):
            print("held", flush=True)
            time.sleep(30)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(UserError, match="another studio process is running `crawl`"), ws.lock("crawl"):
            pass
        with ws.lock("curate"):  # other stages stay free
            pass
    finally:
        proc.kill()
        proc.wait()
    with ws.lock("crawl"):  # a killed holder leaves no stale lock
        pass
