"""The workspace's per-stage lock across processes (its files' writers: tests/test_records.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from studio.errors import UserError
from studio.workspace import Workspace


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
