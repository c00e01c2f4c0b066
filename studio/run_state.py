"""A pipeline run's state: its folder `runs/NNNNN-pipeline/`, `pipeline.json` (each stage's status,
timing and result) and the `Context` a stage gets. The runner (studio.pipeline) and the stages
(studio.stages, studio.train_stage) both build on this module, never on each other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from records import read_json, write_atomic_json
from studio.config import StudioConfig
from studio.outcomes import Outcome, read_outcome
from studio.workspace import Workspace

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

    def outcome(self, stage: str) -> Outcome | dict[str, Any] | None:
        """The recorded result of an earlier stage as its dataclass (None when it did not run)."""
        return read_outcome(stage, self.result(stage), strict=True)

    def remember(self, key: str, value: Any) -> None:
        """Record `value` in pipeline.json now (a stage's note that must survive a kill)."""
        self.state[key] = value
        save_state(self.run_dir, self.state)


def new_run(ws: Workspace) -> Path:
    from gan.rundir import new_run_dir  # numbered like training runs; stdlib-only module

    return new_run_dir(ws.runs_dir, RUN_DESC)


def read_state(run_dir: Path) -> dict[str, Any] | None:
    return read_json(run_dir / STATE)


def save_state(run_dir: Path, state: dict[str, Any]) -> None:
    write_atomic_json(run_dir / STATE, state)


def unfinished_run(ws: Workspace) -> Path | None:
    """The newest pipeline run that did not finish (it failed or was killed), if any."""
    if not ws.runs_dir.is_dir():
        return None
    for path in sorted(ws.runs_dir.iterdir(), reverse=True):
        state = read_state(path)
        if state is not None:
            return path if state.get("status") != "done" else None
    return None


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
