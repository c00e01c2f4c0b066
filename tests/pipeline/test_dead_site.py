"""`studio pipeline` on a site that cannot be reached fails at the crawl stage, saying why
(issue 21, item 2), instead of marking the crawl done and failing later at curate."""

from __future__ import annotations

import json

import pytest

from tests.pipeline.pipeline_helpers import make_workspace, studio

pytestmark = pytest.mark.cli


@pytest.mark.slow
def test_pipeline_on_an_unreachable_url_fails_at_the_crawl_stage(tmp_path):
    ws = make_workspace(tmp_path / "ws", "http://nosuchhost.invalid/")
    proc = studio("pipeline", "--workspace", str(ws), timeout=180)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("studio: error: pipeline stage `crawl` failed"), proc.stderr
    assert "DNS lookup failed for nosuchhost.invalid" in lines[0]
    (run,) = (ws / "runs").glob("*-pipeline")
    state = json.loads((run / "pipeline.json").read_text())
    assert state["stages"]["crawl"]["status"] == "failed"
    assert "curate" not in state["stages"]  # never reached
