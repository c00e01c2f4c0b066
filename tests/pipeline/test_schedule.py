"""`studio schedule`: the stored next run time, misfire grace and logs, with real processes.

The scheduler is started as `studio schedule` in a child process on a workspace whose stored job
was due a moment ago (the machine was "asleep"); its pipeline runs fail fast (no sources), which is
enough to see the job fire, or not, and be logged.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from studio.config import load_config
from studio.scheduler import (
    JOB_ID,
    ScheduleFile,
    describe_next_run,
    run_pipeline_job,
    schedule_path,
)
from studio.workspace import Workspace
from tests.helpers import start_studio, studio, studio_in_process


def stored_job_due(ws: Workspace, seconds_ago: float) -> None:
    """Leave the schedule as an earlier `studio schedule` would have: its job due `seconds_ago`
    (the state file written through the scheduler's own store, as a running scheduler does)."""
    from apscheduler.job import Job
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger

    cfg = load_config(ws.config_path)
    schedule_path(ws).parent.mkdir(parents=True, exist_ok=True)
    identity = {"cron": cfg.schedule.cron, "misfire_grace_s": cfg.schedule.misfire_grace_s,
                "workspace": str(ws.root)}
    ScheduleFile(schedule_path(ws), identity).add_job(Job(
        BlockingScheduler(), id=JOB_ID, func=run_pipeline_job,
        trigger=CronTrigger.from_crontab(cfg.schedule.cron), executor="default", args=[str(ws.root)],
        kwargs={}, name="studio pipeline", coalesce=True, max_instances=1,
        misfire_grace_time=cfg.schedule.misfire_grace_s,
        next_run_time=datetime.now().astimezone() - timedelta(seconds=seconds_ago),
    ))


def run_scheduler_until(ws: Workspace, text: str, timeout: float = 60) -> str:
    """Start `studio schedule`, wait for `text` in logs/schedule.log, stop it with SIGTERM."""
    log = ws.root / "logs" / "schedule.log"
    proc = start_studio("schedule", "--workspace", ws.root, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if log.exists() and text in log.read_text():
                break
            assert proc.poll() is None, "the scheduler exited early"
            time.sleep(0.2)
        else:
            raise AssertionError(f"{text!r} not logged; log: {log.read_text() if log.exists() else '-'}")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0  # SIGTERM ends the loop cleanly
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return log.read_text()


def workspace(tmp_path: Path) -> Workspace:
    r = studio_in_process("init", "--workspace", str(tmp_path / "ws"))
    assert r.returncode == 0, r.stderr
    ws = Workspace.at(tmp_path / "ws")
    ws.config_path.write_text(ws.config_path.read_text().replace("misfire_grace_s = 3600", "misfire_grace_s = 600"))
    return ws


@pytest.mark.cli
def test_a_run_missed_within_the_grace_runs_when_the_scheduler_comes_back(tmp_path):
    ws = workspace(tmp_path)
    stored_job_due(ws, seconds_ago=60)
    log = run_scheduler_until(ws, "studio pipeline exited with status")
    assert "keeping the stored job" in log and "exited with status 2" in log
    assert "no sources to crawl" in (ws.root / "logs" / "pipeline.log").read_text()
    # The state now holds the next cron time (tomorrow 03:00 at the latest), not the missed one.
    state = json.loads(schedule_path(ws).read_text())
    assert datetime.fromisoformat(state["next_run_time"]) > datetime.now().astimezone()


@pytest.mark.cli
def test_a_run_missed_beyond_the_grace_is_skipped_and_logged(tmp_path):
    ws = workspace(tmp_path)
    stored_job_due(ws, seconds_ago=3600)
    log = run_scheduler_until(ws, "was missed by")
    assert "studio pipeline exited" not in log
    assert not (ws.root / "logs" / "pipeline.log").exists() and not ws.runs_dir.exists()


class _Planted:
    """Unpickling this creates `path`: the proof that a job store was unpickled."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


@pytest.mark.cli
def test_an_old_pickled_job_store_in_the_workspace_is_never_unpickled(tmp_path):
    """A received workspace's schedule/jobs.sqlite (APScheduler's SQLAlchemy store: one pickled
    job per row) with a job due now, whose pickle would create a file."""
    import pickle
    import sqlite3

    ws = workspace(tmp_path)
    marker = tmp_path / "unpickled"
    old = ws.root / "schedule" / "jobs.sqlite"
    old.parent.mkdir(parents=True)
    with sqlite3.connect(old) as db:
        db.execute("CREATE TABLE apscheduler_jobs (id VARCHAR(191) NOT NULL PRIMARY KEY, "
                   "next_run_time FLOAT, job_state BLOB NOT NULL)")
        db.execute("INSERT INTO apscheduler_jobs VALUES (?, ?, ?)",
                   (JOB_ID, time.time() - 60, pickle.dumps(_Planted(marker))))
    db.close()
    log = run_scheduler_until(ws, "next run of studio pipeline:")
    assert not marker.exists()
    assert "studio pipeline exited" not in log  # the old store's due job is not run either


@pytest.mark.cli
def test_bad_cron_is_one_clear_error(tmp_path):
    ws = workspace(tmp_path)
    ws.config_path.write_text(ws.config_path.read_text().replace('cron = "0 3 * * *"', 'cron = "0 25 * * *"'))
    r = studio("schedule", "--workspace", str(ws.root))
    assert r.returncode == 2 and "[schedule] cron" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.cli
def test_the_scheduler_says_when_the_next_run_is(tmp_path):
    from apscheduler.triggers.cron import CronTrigger

    ws = workspace(tmp_path)  # cron "0 3 * * *"
    log = run_scheduler_until(ws, "next run of studio pipeline:")
    line = next(ln for ln in log.splitlines() if "next run of studio pipeline:" in ln)
    due = CronTrigger.from_crontab("0 3 * * *").get_next_fire_time(None, datetime.now().astimezone())
    assert f"{due:%Y-%m-%d} 03:00" in line and "(in " in line, line


def test_next_run_reads_as_a_time_and_a_delay():
    now = datetime(2026, 12, 6, 22, 30, tzinfo=UTC)
    assert describe_next_run(datetime(2026, 12, 7, 3, 0, tzinfo=UTC), now) == "2026-12-07 03:00 UTC (in 4h30m)"
    assert describe_next_run(datetime(2026, 12, 9, 3, 0, tzinfo=UTC), now) == "2026-12-09 03:00 UTC (in 2d04h)"
    assert describe_next_run(now - timedelta(minutes=1), now).startswith("now (missed at 2026-12-06 22:29 UTC")


def test_a_stored_next_run_is_kept_only_for_the_same_schedule_and_never_postpones(tmp_path):
    from apscheduler.triggers.cron import CronTrigger

    from records import write_atomic_json
    from studio.scheduler import stored_next_run

    trigger = CronTrigger.from_crontab("0 3 * * *")
    due = trigger.get_next_fire_time(None, datetime.now().astimezone())
    identity = {"cron": "0 3 * * *", "misfire_grace_s": 600, "workspace": "/w"}
    path = tmp_path / "schedule.json"

    def stored(**state) -> datetime | None:
        write_atomic_json(path, {**identity, **state})
        return stored_next_run(path, identity, trigger)

    missed = due - timedelta(days=1)
    assert stored(next_run_time=missed.isoformat()) == missed  # missed while down: kept
    assert stored(next_run_time=due.isoformat()) == due
    assert stored(next_run_time=(due + timedelta(days=30)).isoformat()) is None  # would postpone
    assert stored(next_run_time=missed.isoformat(), cron="0 4 * * *") is None  # another schedule
    assert stored(next_run_time="soon") is None and stored(next_run_time=None) is None
    assert stored(next_run_time=missed.replace(tzinfo=None).isoformat()) is None
