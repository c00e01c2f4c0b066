"""Training runs started from the app: a background `python -m studio train` per run.

Each job is recorded in `.app/jobs/<run-id>.json` (pid, command, log file) so a reloaded page,
or another browser tab, still finds it and can stop it. The process outlives the page; it is
stopped with SIGINT: the trainer finishes its step, writes a checkpoint and exits 0 (the page
then offers "Resume", `studio train --resume`). "Force stop" sends SIGKILL: at once, no
checkpoint (SIGTERM would stop the same clean way as SIGINT); it resumes from the last periodic one.
"""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from curation.children import python_command, python_env
from records import read_json, write_atomic_json
from studio.workspace import Workspace

if TYPE_CHECKING:
    from gan.state_io import ResumePoint

# Popen objects of the children of this server process: polling them reaps finished ones,
# so no zombie lingers while the app runs.
_children: dict[int, subprocess.Popen] = {}


@dataclass
class Job:
    run_id: str
    pid: int
    command: list[str]
    log: Path
    started_at: str

    def alive(self) -> bool:
        return pid_is_training(self.pid)

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def jobs_dir(ws: Workspace) -> Path:
    return ws.root / ".app" / "jobs"


def train_command(ws: Workspace, run_dir: Path, data: Path, *, resolution: int, steps: int,
                  batch: int, device: str, settings: dict[str, object] | None = None) -> list[str]:
    """The `studio train` command line for one run: `settings` are more [train] fields given as
    flags (loss, augment, ada_target, ema_kimg, r1_gamma, r2_gamma, beta1; a bool is --x / --no-x,
    e.g. xflip); the rest come from studio.toml."""
    extra = []
    for k, v in (settings or {}).items():
        flag = f"--{k.replace('_', '-')}"
        extra += [flag if v else f"--no-{flag[2:]}"] if isinstance(v, bool) else [flag, str(v)]
    return python_command("studio", "train", "--workspace", ws.root, "--data", data.resolve(),
                          "--out", run_dir, "--resolution", resolution, "--steps", steps,
                          "--batch", batch, "--device", device, *extra)


def resume_command(ws: Workspace, run_dir: Path, steps: int) -> list[str]:
    """`studio train --resume RUN --steps N`: the run's own config, to `steps` steps in all."""
    return python_command("studio", "train", "--workspace", ws.root, "--resume", run_dir,
                          "--steps", steps)


def resumable(run_dir: Path) -> ResumePoint | None:
    """Where a run that ended early can resume (`gan.state_io.resume_point`): step, total, signal."""
    from gan.state_io import resume_point  # torch: paid only once the page shows a run

    return resume_point(run_dir)


def start(ws: Workspace, run_dir: Path, command: list[str]) -> Job:
    """Start `command` in the background (its own session, so Ctrl-C on the app spares it). It
    runs in the workspace, so relative paths in studio.toml mean the same as for the studio
    there; `python_command` keeps the workspace off its sys.path."""
    jobs_dir(ws).mkdir(parents=True, exist_ok=True)
    log = jobs_dir(ws) / f"{run_dir.name}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, cwd=ws.root,
                                env=python_env())
    _children[proc.pid] = proc
    job = Job(run_dir.name, proc.pid, command, log,
              datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"))
    write_atomic_json(jobs_dir(ws) / f"{run_dir.name}.json",
                      {"run_id": job.run_id, "pid": job.pid, "command": job.command,
                       "log": str(job.log), "started_at": job.started_at})
    return job


def list_jobs(ws: Workspace) -> list[Job]:
    """The jobs started from the app, newest first."""
    for pid, proc in list(_children.items()):
        if proc.poll() is not None:
            del _children[pid]
    found = []
    for path in sorted(jobs_dir(ws).glob("*.json"), reverse=True):
        rec = read_json(path)
        if rec is None:
            continue
        try:
            found.append(Job(rec["run_id"], int(rec["pid"]), list(rec["command"]), Path(rec["log"]),
                             rec["started_at"]))
        except (ValueError, KeyError, TypeError):
            continue
    return found


def job_of(ws: Workspace, run_id: str) -> Job | None:
    return next((j for j in list_jobs(ws) if j.run_id == run_id), None)


def stop(job: Job, force: bool = False) -> bool:
    """Ask the run to stop after its step with a checkpoint (SIGINT), or kill it at once (SIGKILL);
    False when it had already ended."""
    if not job.alive():
        return False
    os.kill(job.pid, signal.SIGKILL if force else signal.SIGINT)
    return True


def pid_is_training(pid: int) -> bool:
    """`pid` is a live (not zombie) `studio train` process: a recycled pid is not mistaken."""
    proc = _children.get(pid)
    if proc is not None and proc.poll() is not None:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state != "Z" and b"studio" in cmdline and b"train" in cmdline
