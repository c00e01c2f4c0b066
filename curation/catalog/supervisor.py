"""The workspace's own MongoDB: a small supervisor process that runs `mongod` on `db/` and
stops it when no studio process of the workspace uses it any more.

Started by `curation.catalog.server` as `python -m curation.catalog.supervisor DB_DIR`, in a
session of its own, never by hand. It
- stops a stray `mongod` left on this folder (an earlier FiftyOne-managed service, a killed run);
- runs `mongod` on a unix socket only this user can open (`dbfiles.socket_path`: a 0700 folder,
  a 0700 socket) and on no TCP port, so no other user of the machine reaches the database; it
  dies with the supervisor (PDEATHSIG);
- records `{pid, mongod_pid, socket, dbpath}` in `db/studio/server.json` once mongod answers;
- restarts a `mongod` that died (kill -9, OOM) on the same socket while clients remain, so their
  connections come back by themselves;
- after an unclean stop (a kill -9, a crash: mongod.lock is not empty), first puts right the
  collections' document counts on a private socket (`validate`), then opens the database to
  clients: WiredTiger's counts are only saved at a checkpoint (every 60 s), so crops added just
  before the crash would be missing from FiftyOne's `len(dataset)`, and the pages would say
  the catalog is empty;
- shuts `mongod` down cleanly once no client lease (`db/studio/clients/*`, each held with an OS
  lock by one live process) has been seen for IDLE_SECONDS, then exits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from filelock import FileLock

from curation.catalog import dbfiles
from curation.children import die_with_parent
from records import write_atomic_json

IDLE_SECONDS = float(os.environ.get("STUDIO_DB_IDLE_SECONDS", "2"))  # linger after the last client
POLL_SECONDS = 0.2
READY_SECONDS = 60  # mongod answers in ~1 s here; recovery after an unclean stop can take longer
MAX_RESTARTS = 5  # within one supervisor's life; more means something is deeply wrong
_stop = False


def main(db_dir: Path) -> int:
    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C in the user's terminal is not for us
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    state = dbfiles.state_dir(db_dir)
    dbfiles.error_file(db_dir).unlink(missing_ok=True)
    stop_strays(db_dir)
    try:
        sock = dbfiles.socket_path(db_dir)
        proc = start_mongod(db_dir, sock)
    except (RuntimeError, OSError) as exc:
        dbfiles.error_file(db_dir).write_text(str(exc) + "\n")
        return 1
    _write_info(db_dir, sock, proc.pid)
    restarts, idle_since = 0, None
    while not _stop:
        time.sleep(POLL_SECONDS)
        live = dbfiles.live_clients(db_dir)
        if proc.poll() is not None:  # mongod died under us
            problem = dbfiles.mongod_problem(db_dir / "log" / "mongod.log")
            if any(hint in problem for hint in dbfiles.FATAL_HINTS):  # a restart would die too
                dbfiles.error_file(db_dir).write_text(
                    f"the catalog database in {db_dir} stopped: {problem}\n")
                break
            if not live or restarts >= MAX_RESTARTS:
                break
            restarts += 1
            print(f"mongod exited with {proc.returncode}; restart {restarts}", flush=True)
            try:
                proc = start_mongod(db_dir, sock)
            except RuntimeError as exc:
                dbfiles.error_file(db_dir).write_text(str(exc) + "\n")
                break
            _write_info(db_dir, sock, proc.pid)
            continue
        if live:
            idle_since = None
            continue
        idle_since = idle_since or time.monotonic()
        if time.monotonic() - idle_since < IDLE_SECONDS:
            continue
        # Under the start lock, so a client that arrives now either sees us gone (and starts a
        # new server once this mongod has let go of the folder) or is seen here as a live lease.
        with FileLock(state / "server.lock", timeout=60):
            if dbfiles.live_clients(db_dir):
                idle_since = None
                continue
            _remove_info(db_dir)
            stop_process(proc)
            return 0
    with FileLock(state / "server.lock", timeout=60):
        _remove_info(db_dir)
        stop_process(proc)
    return 0


def _request_stop(signum, frame) -> None:
    global _stop
    _stop = True


def start_mongod(db_dir: Path, sock: Path) -> subprocess.Popen:
    """Start mongod on db_dir and wait until it answers; RuntimeError with one line if not.
    After an unclean stop the document counts are put right before any client can connect."""
    if stopped_uncleanly(db_dir):
        fix_counts(db_dir, sock.with_name(f"{sock.stem}.fix.sock"))  # same 0700 folder
    return _launch(db_dir, sock)


def stopped_uncleanly(db_dir: Path) -> bool:
    """Whether the last mongod on db_dir died without a clean shutdown (which empties
    mongod.lock; a running or killed one leaves its pid there)."""
    try:
        return (db_dir / "mongod.lock").stat().st_size > 0
    except OSError:
        return False


def fix_counts(db_dir: Path, private: Path) -> None:
    """Run mongod on a socket no client knows, `validate` every collection (which recounts
    its documents: a kill -9 leaves the counts of the last checkpoint, ~0.04 s a 1,000 crops),
    and shut it down cleanly, which saves the corrected counts. A failure here is logged, not
    fatal: the database still opens, with counts that may be short."""
    import pymongo

    proc = _launch(db_dir, private)
    try:
        with pymongo.MongoClient(dbfiles.socket_uri(private), directConnection=True,
                                 serverSelectionTimeoutMS=5000) as client:
            fixed = 0
            for name in client.list_database_names():
                if name in ("admin", "config", "local"):
                    continue
                db = client[name]
                for coll in db.list_collections(filter={"type": "collection"}):
                    if not coll["name"].startswith("system."):
                        db.command("validate", coll["name"])
                        fixed += 1
        print(f"mongod stopped uncleanly; recounted {fixed} collections", flush=True)
    except pymongo.errors.PyMongoError as exc:
        print(f"mongod stopped uncleanly; recounting failed: {exc}", flush=True)
    finally:
        stop_process(proc)
        Path(private).unlink(missing_ok=True)


def _launch(db_dir: Path, sock: Path) -> subprocess.Popen:
    """mongod on db_dir listening on `sock`, once it answers; RuntimeError with one line if not.

    `--bind_ip` names the socket alone, so mongod opens no TCP port; `--nounixsocket` drops its
    default /tmp/mongodb-PORT.sock; the socket is made 0700 (`--filePermissions`)."""
    log = db_dir / "log" / "mongod.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [str(dbfiles.mongod_binary()), "--dbpath", str(db_dir), "--bind_ip", str(sock),
           "--port", "0", "--nounixsocket", "--filePermissions", "0700",
           "--logpath", str(log), "--logappend"]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the catalog database in {db_dir} did not start: "
                               f"{dbfiles.mongod_problem(log)}")
        if dbfiles.answers(sock, db_dir):
            return proc
        time.sleep(0.1)
    stop_process(proc)
    raise RuntimeError(f"the catalog database in {db_dir} did not answer within "
                       f"{READY_SECONDS} s: {dbfiles.mongod_problem(log)}")


def stop_process(proc: subprocess.Popen, grace: float = 30) -> None:
    """SIGTERM (mongod's clean shutdown), then SIGKILL after `grace` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def stop_strays(db_dir: Path) -> None:
    """Stop any other mongod serving this folder (it would hold mongod.lock for ever)."""
    for pid in dbfiles.mongod_pids_on(db_dir):
        print(f"stopping a stray mongod (pid {pid}) on {db_dir}", flush=True)
        dbfiles.terminate_pid(pid)


def _write_info(db_dir: Path, sock: Path, mongod_pid: int) -> None:
    info = {"pid": os.getpid(), "mongod_pid": mongod_pid, "socket": str(sock),
            "dbpath": str(db_dir), "started_at": time.time()}
    write_atomic_json(dbfiles.info_file(db_dir), info)


def _remove_info(db_dir: Path) -> None:
    info = dbfiles.read_info(db_dir)
    if info is not None and info.get("pid") == os.getpid():
        dbfiles.info_file(db_dir).unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]).resolve()))
