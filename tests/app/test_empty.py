"""Every page on an empty workspace: a "start here" hint, no error, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.app.app_helpers import ENTRY, PAGES, assert_clean, open_page, texts


@pytest.fixture
def empty_ws(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "studio.toml").write_text("")
    return ws


@pytest.mark.parametrize("page", PAGES)
def test_empty_workspace_says_where_to_start(monkeypatch, empty_ws, page):
    at = open_page(monkeypatch, empty_ws, page)
    assert_clean(at)
    body = texts(at)
    assert "Start here" in body
    assert "studio " in body  # the command to run next


def test_missing_workspace_says_init(monkeypatch, tmp_path):
    at = open_page(monkeypatch, tmp_path / "nothing")
    assert not at.exception
    assert "studio init" in texts(at)


@pytest.mark.cli
def test_empty_workspace_pages_do_not_load_torch(empty_ws):
    """Every page's "start here" box comes without importing torch (seconds and much memory):
    gan's torch-backed modules load only once a page has a model or a run to show. In a fresh
    interpreter, since the test process has torch loaded already."""
    code = ("import sys\n"
            "from streamlit.testing.v1 import AppTest\n"
            f"at = AppTest.from_file({str(ENTRY)!r}, default_timeout=60).run()\n"
            f"for page in {PAGES!r}:\n"
            "    at.switch_page(page).run()\n"
            "    assert not at.exception, (page, [e.value for e in at.exception])\n"
            "    print(page, 'torch' in sys.modules, flush=True)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180,
                       env={**os.environ, "STUDIO_WORKSPACE": str(empty_ws)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [w for p in PAGES for w in (p, "False")], r.stdout
