"""The stages' typed results: their JSON form keeps the shape of the runs already on disk, reads
back as the same dataclass; user-facing errors are known by their mark; no import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from crawler.errors import CrawlError
from curation.errors import CurationError
from gan.errors import GanError
from studio.config import StudioConfig
from studio.errors import UserError
from studio.outcomes import (
    FIELDS,
    EvaluateSkipped,
    ExportOutcome,
    PromoteOutcome,
    PromoteSkipped,
    TrainOutcome,
    TrainSkipped,
    read_outcome,
)
from studio.pipeline import StageFailed, run_pipeline
from studio.run_state import read_state
from studio.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]


def test_json_form_keeps_each_variants_keys_and_reads_back():
    cases = {
        "export": [
            (ExportOutcome(summary="none", version=None, images=0), ["summary", "version", "images"]),
            (ExportOutcome(summary="reused", version="v0001", images=3, new_version=False),
             ["summary", "version", "images", "new_version"]),
            (ExportOutcome(summary="new", version="v0002", images=4, new_version=True, crawls=["c1"],
                           label_state={"labels": 0}),
             ["summary", "version", "images", "new_version", "crawls", "label_state"]),
        ],
        "train": [
            (TrainSkipped(summary="not trained: no export", reason="no accepted crops"),
             ["summary", "trained", "reason"]),
            (TrainSkipped(summary="not trained", reason="only 0", new_accepted=0, export="v0001"),
             ["summary", "trained", "reason", "new_accepted", "export"]),
            (TrainOutcome(summary="trained", reason="r", export="v0001", new_accepted=3, steps=60,
                          warm_start_from=None, resumed=False, checkpoint="checkpoints/step-0000060",
                          final_metrics={"swd": 1.0}, resolution=32, device="cpu", sanity=None),
             ["summary", "trained", "reason", "export", "new_accepted", "steps", "warm_start_from", "resumed",
              "checkpoint", "final_metrics", "resolution", "device", "sanity"]),
        ],
        "evaluate": [(EvaluateSkipped(summary="nothing"), ["summary", "evaluated"])],
        "promote": [
            (PromoteSkipped(summary="no new model"), ["summary", "promoted"]),
            (PromoteOutcome(summary="promoted", promoted=True, metric="swd", new=1.0, old=None, limit=None,
                            tolerance=0.02, reason="no model was promoted yet"),
             ["summary", "promoted", "metric", "new", "old", "limit", "tolerance", "reason"]),
        ],
    }
    for stage, variants in cases.items():
        for outcome, keys in variants:
            record = outcome.to_json()
            assert list(record) == keys
            assert read_outcome(stage, record) == outcome
    assert TrainSkipped(summary="s", reason="r").to_json()["trained"] is False
    # A stage of another shape under a known name (a test's): its dict as recorded.
    assert read_outcome("crawl", {"summary": "3 new images"}) == {"summary": "3 new images"}
    assert read_outcome("train", {}) is None
    # One of ours that lost a field (a renamed field, a hand-edited pipeline.json) fails loudly,
    # rather than reading as "not trained" and skipping evaluate and promote.
    broken = TrainOutcome(**{**{f: None for f in FIELDS["train"] if f != "trained"}, "summary": "s"}).to_json()
    del broken["checkpoint"]
    with pytest.raises(ValueError, match="recorded train result does not fit"):
        read_outcome("train", broken, strict=True)
    assert read_outcome("train", broken) == broken  # a report of an old run still shows it


@pytest.mark.parametrize("error", [UserError, CrawlError, CurationError, GanError])
def test_user_facing_errors_are_recorded_without_traceback_and_bugs_with_one(tmp_path, error):
    assert getattr(error, "user_facing", False)
    for exc, traced in ((error("the site is down"), False), (ValueError("a bug"), True)):
        ws = Workspace.at(tmp_path / f"{error.__name__}-{traced}")
        ws.root.mkdir()
        ws.config_path.write_text("")

        def fail(ctx, exc=exc):
            raise exc

        with pytest.raises(StageFailed):
            run_pipeline(ws, StudioConfig(), stages=[("fail", fail)], log=lambda m: None)
        record = read_state(ws.runs_dir / "00000-pipeline")["stages"]["fail"]
        assert record["status"] == "failed" and ("traceback" in record) == traced


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_stages_do_not_import_the_runner():
    for name in ("stages", "train_stage", "run_state", "outcomes", "report"):
        assert "studio.pipeline" not in _imports(ROOT / "studio" / f"{name}.py"), name
