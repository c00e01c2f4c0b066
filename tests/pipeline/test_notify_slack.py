"""The run report as Slack gets it (issue 21, item 11): plain lines, not Markdown headings Slack
shows literally, and the run / status / decision keys docs/pipeline.md promises."""

from __future__ import annotations

import pytest

from studio.config import StudioConfig
from studio.pipeline import StageFailed, run_pipeline
from studio.workspace import Workspace


def _workspace(tmp_path) -> Workspace:
    ws = Workspace.at(tmp_path / "ws")
    ws.root.mkdir()
    ws.config_path.write_text("")
    return ws


def _plain(text: str) -> None:
    assert not [ln for ln in text.splitlines() if ln.lstrip().startswith("#")], text
    assert "**" not in text, text


def test_slack_gets_plain_text_and_the_run_keys(tmp_path, webhook):
    ws = _workspace(tmp_path)
    stages = [("crawl", lambda ctx: {"summary": "3 new images", "new_images": 3})]
    report = run_pipeline(ws, StudioConfig(), stages=stages, notify=f"slack+{webhook.url}", log=lambda m: None)
    (post,) = webhook.posts
    assert post["run"] == report["run"] and post["status"] == "done" and post["decision"] == report["decision"]
    assert post["text"].startswith(f"Pipeline run {report['run']}: done")
    assert "Crawled (crawl, done" in post["text"] and "3 new images" in post["text"]
    _plain(post["text"])
    sections = [b["text"]["text"] for b in post["blocks"] if b["type"] == "section" and "text" in b]
    assert sections and all(_plain(t) is None for t in sections)


def test_a_failed_run_reaches_slack_as_failed(tmp_path, webhook):
    ws = _workspace(tmp_path)

    def crawl(ctx):
        raise ConnectionError("no start page could be fetched")

    with pytest.raises(StageFailed):
        run_pipeline(ws, StudioConfig(), stages=[("crawl", crawl)], notify=f"slack+{webhook.url}",
                     log=lambda m: None)
    (post,) = webhook.posts
    assert post["status"] == "failed" and "FAILED at `crawl`" in post["decision"]
    assert "crawl, failed" in post["text"] and "no start page could be fetched" in post["text"]
    _plain(post["text"])
