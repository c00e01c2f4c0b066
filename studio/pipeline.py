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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from records import read_json
from studio.config import StudioConfig
from studio.errors import UserError, one_line
from studio.report import notify_report, write_report
from studio.workspace import Workspace, atomic_write_json

STATE = "pipeline.json"
RUN_DESC = "pipeline"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Context:
    """What a stage gets: the workspace, the config, its run folder and the earlier stages' results."""

    ws: Workspace
    cfg: StudioConfig
    run_dir: Path
    state: dict[str, Any]
    force_train: bool = False
    log: Callable[[str], None] = print
    extra: dict[str, Any] = field(default_factory=dict)  # per-call knobs (tests, demo), not persisted

    @property
    def run_id(self) -> str:
        return self.run_dir.name

    def result(self, stage: str) -> dict[str, Any]:
        """The recorded result of an earlier stage ({} when it did not run)."""
        return self.state["stages"].get(stage, {}).get("result") or {}


Stage = Callable[[Context], dict[str, Any]]


class StageFailed(UserError):
    """A stage failed; the message says which, why, and that the next run resumes there."""


def new_run(ws: Workspace) -> Path:
    from gan.rundir import new_run_dir  # numbered like training runs; stdlib-only module

    return new_run_dir(ws.runs_dir, RUN_DESC)


def unfinished_run(ws: Workspace) -> Path | None:
    """The newest pipeline run that did not finish (it failed or was killed), if any."""
    if not ws.runs_dir.is_dir():
        return None
    for path in sorted(ws.runs_dir.iterdir(), reverse=True):
        state = read_state(path)
        if state is not None:
            return path if state.get("status") != "done" else None
    return None


def read_state(run_dir: Path) -> dict[str, Any] | None:
    return read_json(run_dir / STATE)


def list_pipeline_runs(ws: Workspace) -> list[tuple[Path, dict[str, Any]]]:
    """(folder, state) of every pipeline run, oldest first."""
    if not ws.runs_dir.is_dir():
        return []
    runs = []
    for path in sorted(ws.runs_dir.iterdir()):
        state = read_state(path)
        if state is not None:
            runs.append((path, state))
    return runs


def save_state(run_dir: Path, state: dict[str, Any]) -> None:
    atomic_write_json(run_dir / STATE, state)


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
                if not isinstance(exc, UserError | KeyboardInterrupt) and type(exc).__name__ not in USER_ERRORS:
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
            record.update(status="done", result=result or {}, seconds=round(time.monotonic() - t0, 1),
                          finished_at=now())
            save_state(run_dir, state)
            log(f"{name}: {result.get('summary', 'done') if result else 'done'}")
        state["status"] = "done"
        state["finished_at"] = now()
        return _finish(ws, run_dir, state, notify, log)


# Error classes of the packages (they cannot import studio.errors): their message is for the user.
USER_ERRORS = {"CrawlError", "CurateError", "CurationError", "GanError", "TrainError"}


def _finish(ws: Workspace, run_dir: Path, state: dict[str, Any], notify: str, log) -> dict[str, Any]:
    save_state(run_dir, state)
    report = write_report(ws, run_dir, state)
    log(f"report: {run_dir / 'report.md'}")
    if notify:
        notify_report(notify, report, log)
    return report
