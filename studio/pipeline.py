"""`studio pipeline`: one incremental crawl → curate → export → train → evaluate → promote run.

Each pipeline run has a folder `runs/NNNNN-pipeline/` (numbered like training runs; the training,
when the policy asks for one, happens in the same folder). Its `pipeline.json` records every stage's
status and result as it finishes, so:

- a failing stage stops the run with one clear line; the stages before it keep their outputs;
- the next `studio pipeline` resumes that unfinished run at the failed stage (done stages are not
  redone; an interrupted training is resumed from its last checkpoint);
- `report.md` and `report.json` are written at the end (also after a failure) and optionally posted
  to a Slack-compatible webhook.

A workspace lock ("pipeline") refuses a second concurrent run.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studio.config import StudioConfig
from studio.errors import UserError, one_line
from studio.outcomes import Outcome, as_json
from studio.report import notify_report, write_report
from studio.run_state import Context, new_run, now, read_state, save_state, unfinished_run
from studio.workspace import Workspace

__all__ = ["Stage", "StageFailed", "run_pipeline"]

Stage = Callable[[Context], Outcome | dict[str, Any]]


class StageFailed(UserError):
    """A stage failed; the message says which, why, and that the next run resumes there."""


def run_pipeline(
    ws: Workspace,
    cfg: StudioConfig,
    *,
    stages: list[tuple[str, Stage]] | None = None,
    force_train: bool = False,
    notify: str | None = None,
    log: Callable[[str], None] = print,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run (or resume) one pipeline run under the workspace's "pipeline" lock; return its report."""
    if stages is None:
        from studio.stages import STAGES

        stages = STAGES
    notify = notify if notify is not None else cfg.pipeline.notify_url
    if notify and cfg.pipeline.notify_format != "auto" and "+" not in notify.split("://")[0]:
        notify = f"{cfg.pipeline.notify_format}+{notify}"  # gan.notify reads the format from the prefix
    with ws.lock("pipeline"):
        run_dir = unfinished_run(ws)
        if run_dir is not None:
            state = read_state(run_dir)
            failed = next((n for n, _ in stages if state["stages"].get(n, {}).get("status") != "done"), None)
            log(f"resuming unfinished pipeline run {run_dir.name} at stage {failed}")
            state["attempts"] = state.get("attempts", 1) + 1
            state["force_train"] = state.get("force_train", False) or force_train
        else:
            run_dir = new_run(ws)
            state = {"run": run_dir.name, "started_at": now(), "status": "running", "attempts": 1,
                     "force_train": force_train, "stages": {}}
            log(f"pipeline run {run_dir.name}")
        state["status"] = "running"
        save_state(run_dir, state)
        ctx = Context(ws, cfg, run_dir, state, state["force_train"], log, extra or {})
        for name, stage in stages:
            record = state["stages"].get(name, {})
            if record.get("status") == "done":
                log(f"{name}: already done in an earlier attempt")
                continue
            record = {"status": "running", "started_at": now()}
            state["stages"][name] = record
            save_state(run_dir, state)
            t0 = time.monotonic()
            try:
                result = stage(ctx)
            except BaseException as exc:
                record.update(status="failed", error=one_line(exc), seconds=round(time.monotonic() - t0, 1))
                # UserError and the packages' error classes carry `user_facing`: their message is for the user
                if not isinstance(exc, KeyboardInterrupt) and not getattr(exc, "user_facing", False):
                    record["traceback"] = traceback.format_exc()  # a bug: keep the detail for the report
                state["status"] = "failed"
                state["finished_at"] = now()
                _finish(ws, run_dir, state, notify, log)
                if isinstance(exc, KeyboardInterrupt):
                    raise
                raise StageFailed(
                    f"pipeline stage `{name}` failed: {one_line(exc)} "
                    f"(earlier stages' outputs are kept; the next `studio pipeline` resumes at `{name}`; "
                    f"report {run_dir / 'report.md'})"
                ) from exc
            result = as_json(result)
            record.update(status="done", result=result, seconds=round(time.monotonic() - t0, 1),
                          finished_at=now())
            save_state(run_dir, state)
            log(f"{name}: {result.get('summary', 'done')}")
        state["status"] = "done"
        state["finished_at"] = now()
        return _finish(ws, run_dir, state, notify, log)


def _finish(ws: Workspace, run_dir: Path, state: dict[str, Any], notify: str, log) -> dict[str, Any]:
    save_state(run_dir, state)
    report = write_report(ws, run_dir, state)
    log(f"report: {run_dir / 'report.md'}")
    if notify:
        notify_report(notify, report, log)
    return report
