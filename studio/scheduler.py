"""`studio schedule`: run the pipeline on the cron expression of `[schedule]` with APScheduler 3.

- The job is rebuilt at each start from studio.toml, in APScheduler's memory job store; its next
  run time is kept in `schedule/schedule.json` (plain JSON, written whenever it changes), so a run
  missed while the scheduler was down (machine asleep, restarted) still happens when it comes
  back, if it is late by less than `misfire_grace_s`; several missed runs coalesce into one.
  Nothing in that file can carry code; `schedule/jobs.sqlite`, the pickled job store of older
  versions, is never opened.
- No overlapping runs: `max_instances=1`, and the pipeline's own workspace lock.
- Each run is `studio pipeline` in a child process (a fresh Scrapy reactor and FiftyOne client
  every time, and a crash cannot take the scheduler down); its output is appended to
  `logs/pipeline.log`, the scheduler's own log to `logs/schedule.log`.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.jobstores.memory import MemoryJobStore

from curation.children import python_command, python_env
from records import read_json, write_atomic_json
from studio.config import StudioConfig
from studio.workspace import Workspace

JOB_ID = "pipeline"
log = logging.getLogger("studio.schedule")


def schedule_path(ws: Workspace) -> Path:
    """The schedule's state: cron, grace, workspace and the job's next run time (JSON)."""
    return ws.root / "schedule" / "schedule.json"


def old_job_store_path(ws: Workspace) -> Path:
    """Older versions' SQLAlchemy job store (pickled jobs): never read, only mentioned."""
    return ws.root / "schedule" / "jobs.sqlite"


class ScheduleFile(MemoryJobStore):
    """APScheduler's memory job store that writes the pipeline job's next run time to a JSON file
    whenever the scheduler sets it (added, and after each run is submitted or missed, as a
    persistent store would), so that a restarted scheduler still knows about a run it missed."""

    def __init__(self, path: Path, identity: dict[str, object]):
        super().__init__()
        self.path, self.identity = path, identity

    def add_job(self, job) -> None:
        super().add_job(job)
        self._save(job)

    def update_job(self, job) -> None:
        super().update_job(job)
        self._save(job)

    def _save(self, job) -> None:
        if job.id == JOB_ID and job.next_run_time is not None:
            write_atomic_json(self.path, {**self.identity, "next_run_time": job.next_run_time.isoformat()})


def stored_next_run(path: Path, identity: dict[str, object], trigger) -> datetime | None:
    """The next run time saved for this same schedule (cron, grace, workspace), or None: no file,
    a damaged one, another schedule, or a time later than the cron's next one (which no earlier
    run of this schedule can have written: a received file must not postpone the runs)."""
    state = read_json(path)
    if state is None or any(state.get(k) != v for k, v in identity.items()):
        return None
    try:
        when = datetime.fromisoformat(state["next_run_time"])
    except (KeyError, TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    upcoming = trigger.get_next_fire_time(None, datetime.now().astimezone())
    return when if upcoming is None or when <= upcoming else None


def log_dir(ws: Workspace) -> Path:
    return ws.root / "logs"


def setup_logging(ws: Workspace) -> Path:
    """Scheduler and APScheduler messages to logs/schedule.log (and stderr, e.g. the journal)."""
    path = log_dir(ws) / "schedule.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in (logging.FileHandler(path, encoding="utf-8"), logging.StreamHandler(sys.stderr)):
        handler.setFormatter(fmt)
        for name in ("studio.schedule", "apscheduler"):
            logging.getLogger(name).addHandler(handler)
    for name in ("studio.schedule", "apscheduler"):
        logging.getLogger(name).setLevel(logging.INFO)
    return path


def run_pipeline_job(workspace: str, echo: bool = False) -> int:
    """The scheduled job: one `studio pipeline` in a child process; returns its exit status."""
    ws = Workspace.at(workspace)
    out_path = log_dir(ws) / "pipeline.log"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    log.info("starting studio pipeline on %s", ws.root)
    with open(out_path, "a", encoding="utf-8") as out:
        out.write(f"--- {datetime.now(UTC).isoformat(timespec='seconds')} studio pipeline\n")
        out.flush()
        proc = subprocess.Popen(
            python_command("studio", "pipeline", "--workspace", ws.root), env=python_env(),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
        )
        for line in proc.stdout:
            out.write(line)
            out.flush()
            if echo:
                sys.stdout.write(line)
        code = proc.wait()
    (log.info if code == 0 else log.error)("studio pipeline exited with status %s (output in %s)", code, out_path)
    return code


def build_scheduler(ws: Workspace, cfg: StudioConfig):
    """A BlockingScheduler holding the pipeline job, its next run time kept in schedule.json.

    A next run time saved for the same cron expression, grace and workspace is kept, so a run
    missed while nothing was running is still noticed (and run, within the grace); a changed
    schedule starts afresh from the cron expression.
    """
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger

    try:
        trigger = CronTrigger.from_crontab(cfg.schedule.cron)
    except ValueError as exc:
        from studio.errors import UserError

        raise UserError(f"[schedule] cron {cfg.schedule.cron!r}: {exc}") from None
    grace = cfg.schedule.misfire_grace_s
    path = schedule_path(ws)
    path.parent.mkdir(parents=True, exist_ok=True)
    identity = {"cron": cfg.schedule.cron, "misfire_grace_s": grace, "workspace": str(ws.root)}
    if old_job_store_path(ws).exists():
        log.info("ignoring %s, the pickled job store of an older GAN Studio (never read; "
                 "it may be deleted)", old_job_store_path(ws))
    scheduler = BlockingScheduler(
        jobstores={"default": ScheduleFile(path, identity)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": grace},
    )
    kept = stored_next_run(path, identity, trigger)
    if kept is not None:
        log.info("keeping the stored job (cron %r, next run %s)", cfg.schedule.cron, kept)
    else:
        log.info("scheduled studio pipeline on cron %r", cfg.schedule.cron)
    scheduler.add_job(
        run_pipeline_job, trigger, args=[str(ws.root)], id=JOB_ID, name="studio pipeline",
        coalesce=True, max_instances=1, misfire_grace_time=grace,
        **({"next_run_time": kept} if kept is not None else {}),
    )
    _announce_next_run(scheduler)
    return scheduler


def _announce_next_run(scheduler) -> None:
    """Log when the next run is, once the scheduler has started and after every run (or a run
    missed beyond the grace): someone who starts `studio schedule` wants to know it is armed."""
    from apscheduler.events import (
        EVENT_JOB_ERROR,
        EVENT_JOB_EXECUTED,
        EVENT_JOB_MISSED,
        EVENT_SCHEDULER_START,
    )

    def tell(_event) -> None:
        job = scheduler.get_job(JOB_ID)
        if job is not None and job.next_run_time is not None:
            log.info("next run of studio pipeline: %s", describe_next_run(job.next_run_time))

    scheduler.add_listener(tell, EVENT_SCHEDULER_START | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)


def describe_next_run(when: datetime, now: datetime | None = None) -> str:
    """`2026-12-07 03:00 UTC (in 5h12m)`, or `now (missed at …)` for a run due already."""
    now = now or datetime.now(when.tzinfo)
    stamp = f"{when:%Y-%m-%d %H:%M} {when.tzname() or ''}".rstrip()
    seconds = int((when - now).total_seconds())
    if seconds <= 0:
        return f"now (missed at {stamp}, within the grace)"
    hours, minutes = seconds // 3600, seconds % 3600 // 60
    ahead = f"{hours // 24}d{hours % 24:02d}h" if hours >= 24 else f"{hours}h{minutes:02d}m" if hours else f"{max(minutes, 1)}m"
    return f"{stamp} (in {ahead})"
