"""Every page on an empty workspace: a "start here" hint, no error, no traceback."""

from __future__ import annotations

import pytest

from tests.app.app_helpers import PAGES, assert_clean, open_page, texts


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
