"""The promoted model: `models/current.json` (read by the app and `studio sample`) and its history.

    {"run": "runs/00003-pipeline",          the run folder, relative to the workspace
     "checkpoint": "checkpoints/step-0000400",  relative to the run (gan.checkpoint.resolve_checkpoint)
     "export": "v0002", "metrics": {"swd": …}, "reason": "…", "promoted_at": "…"}

`current.json` is replaced atomically, so a reader sees the old model or the new one, never half a
file. Every promotion is also appended to `models/history.jsonl`, newest last.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from records import append_jsonl, read_json, write_atomic_json
from studio.errors import UserError
from studio.workspace import Workspace


def current(ws: Workspace) -> dict[str, Any] | None:
    """The promoted model's pointer, or None when nothing has been promoted (or it is unreadable)."""
    pointer = read_json(ws.current_model)
    return pointer if pointer is not None and "run" in pointer else None


def run_dir(ws: Workspace, pointer: dict[str, Any]) -> Path:
    run = Path(pointer["run"])
    return run if run.is_absolute() else ws.root / run


def current_checkpoint(ws: Workspace) -> Path | None:
    """Absolute path of the promoted checkpoint folder, or None (nothing promoted, or deleted)."""
    pointer = current(ws)
    if pointer is None:
        return None
    path = run_dir(ws, pointer) / pointer.get("checkpoint", "")
    return path if path.is_dir() else None


def require_current_checkpoint(ws: Workspace) -> Path:
    """The promoted checkpoint folder, for a command run without `--run`; a UserError if none."""
    if current(ws) is None:
        raise UserError(f"no promoted model ({ws.current_model} missing or damaged); pass --run RUN")
    path = current_checkpoint(ws)
    if path is None:
        raise UserError(f"the promoted model's checkpoint is gone ({ws.current_model}); "
                        "promote another or pass --run RUN")
    return path


def model_source(ws: Workspace, run: Path | None) -> Path:
    """What `--run` names (a run folder, a run id under runs/, a checkpoint), else the promoted model."""
    if run is None:
        ws.require()  # a mistyped --workspace is that, not "no promoted model"
        return require_current_checkpoint(ws)
    source = ws.run_path(run)
    if not source.exists():
        raise UserError(f"--run {run}: no such run or checkpoint")
    return source


def promote(
    ws: Workspace,
    run: Path | str,
    checkpoint: Path | str,
    *,
    export: str | None = None,
    metrics: dict[str, float] | None = None,
    reason: str = "promoted by hand",
) -> dict[str, Any]:
    """Make `checkpoint` (a folder inside run folder `run`) the default model of the workspace.
    A checkpoint that is not there (or holds no weights), or a run outside the workspace, is a
    UserError and the promoted model stays as it was."""
    from gan.checkpoint import WEIGHTS

    run_path = Path(run) if Path(run).is_absolute() else ws.runs_dir / run
    run_path = run_path.resolve()
    ckpt = Path(checkpoint)
    ckpt = (ckpt if ckpt.is_absolute() else run_path / ckpt).resolve()
    if not run_path.is_dir() or not run_path.is_relative_to(ws.root):
        raise UserError(f"cannot promote {run}: no such run in {ws.runs_dir}")
    if not ckpt.is_relative_to(run_path):
        raise UserError(f"cannot promote {checkpoint}: not a checkpoint of run {run_path.name}")
    if not (ckpt / WEIGHTS).is_file():
        raise UserError(f"cannot promote {ckpt}: no such checkpoint (no {WEIGHTS} there)")
    record = {
        "run": str(run_path.relative_to(ws.root)),
        "checkpoint": str(ckpt.relative_to(run_path)),
        "export": export,
        "metrics": metrics or {},
        "reason": reason,
        "promoted_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_atomic_json(ws.current_model, record)
    append_jsonl(ws.models_dir / "history.jsonl", record)
    return record
