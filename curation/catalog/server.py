"""The client side of a workspace's own database: take a lease, find or start the supervisor
(`curation.catalog.supervisor`), and return the URI of the mongod that serves this `db/`.

A running server is trusted only after it proves it serves this very folder (`getCmdLineOpts`),
so a copied workspace whose `server.json` names the original's socket never writes there.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import subprocess
import time
from pathlib import Path

from filelock import FileLock, Timeout

from curation.catalog import dbfiles
from curation.children import python_command
from curation.errors import CurationError

START_SECONDS = 90  # start-up, including mongod's recovery after an unclean stop
_leases: dict[str, int] = {}  # db dir → the fd whose flock is this process's lease


def ensure_server(db_dir: Path) -> str:
    """The URI of this folder's mongod, started if needed; this process holds a lease on it
    until it exits (however it exits), which keeps the server running."""
    db_dir = db_dir.resolve()
    try:
        state = dbfiles.state_dir(db_dir)
        _take_lease(db_dir)
    except OSError as exc:
        raise CurationError(f"cannot use the catalog folder {db_dir}: "
                            f"{exc.strerror or exc}") from None
    try:
        with FileLock(state / "server.lock", timeout=START_SECONDS):
            info = dbfiles.read_info(db_dir)
            if info and _still_serving(info, db_dir):
                return uri_for(info["socket"])
            if info:  # dead, or an older version's server on a TCP port: replaced
                _stop_stale(info, db_dir)
            return uri_for(_start(db_dir)["socket"])
    except Timeout:
        raise CurationError(f"timed out waiting for the catalog database of {db_dir} "
                            "(another studio process is starting it)") from None


def _why_not_started(db_dir: Path) -> str:
    """One line on why the supervisor gave up: its own record, else the disk (a full disk
    leaves the record empty: the supervisor could not write it), else where to look."""
    try:
        reason = dbfiles.error_file(db_dir).read_text(errors="replace").strip()
    except OSError:
        reason = ""
    if reason:
        return reason.splitlines()[-1]
    return dbfiles.disk_problem(db_dir) or (
        f"the catalog database in {db_dir} did not start (see {db_dir / 'studio' / 'server.log'} "
        f"and {db_dir / 'log' / 'mongod.log'})")


def uri_for(sock: str) -> str:
    """The URI of the mongod on unix socket `sock` (dbfiles.socket_path)."""
    # 15 s to find the server: enough for the supervisor to restart a mongod that died.
    # journal=true: every write through this URI (FiftyOne's clients, the App's too) is in
    # mongod's journal before it is acknowledged, so a label reported saved survives kill -9.
    return (f"{dbfiles.socket_uri(sock)}/?directConnection=true&serverSelectionTimeoutMS=15000"
            "&journal=true")


def _take_lease(db_dir: Path) -> None:
    """A lease file locked by this process, renamed into clients/ only once locked (so the
    supervisor never mistakes a lease being made for a dead one)."""
    if str(db_dir) in _leases:
        return
    clients = db_dir / "studio" / "clients"
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    tmp = clients / f".new-{token}"
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.replace(tmp, clients / f"lease-{token}")
    _leases[str(db_dir)] = fd


def _still_serving(info: dict, db_dir: Path) -> bool:
    """Whether the recorded server answers for this folder; a live supervisor gets a while to
    come back (it restarts a mongod that died)."""
    if not isinstance(info.get("socket"), str):
        return False  # an older version's server on a TCP port, which any local user reaches
    if dbfiles.answers(info["socket"], db_dir):
        return True
    pid = int(info.get("pid", 0) or 0)
    if not (pid and dbfiles.pid_alive(pid) and _serves(pid, db_dir)):
        return False  # dead, or a copied workspace's record of the original's server
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and dbfiles.pid_alive(int(info["pid"])):
        if dbfiles.answers(info["socket"], db_dir, timeout_ms=1000):
            return True
        time.sleep(0.5)
    return False


def _stop_stale(info: dict, db_dir: Path) -> None:
    """A recorded server that does not answer for us: stop what is left of it."""
    for key in ("pid", "mongod_pid"):
        pid = int(info.get(key) or 0)
        if pid and dbfiles.pid_alive(pid) and _serves(pid, db_dir):
            dbfiles.terminate_pid(pid)
    dbfiles.info_file(db_dir).unlink(missing_ok=True)


def _serves(pid: int, db_dir: Path) -> bool:
    """Only stop a mongod or supervisor of this very folder: a pid from server.json may have
    been reused, and a copied workspace's server.json names the original's processes."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    kind = argv[0].endswith(b"mongod") or b"curation.catalog.supervisor" in argv
    return kind and os.fsencode(str(db_dir)) in argv


def _start(db_dir: Path) -> dict:
    """Start the supervisor in a session of its own and wait for its server.json."""
    error = dbfiles.error_file(db_dir)
    error.unlink(missing_ok=True)
    dbfiles.info_file(db_dir).unlink(missing_ok=True)
    log = open(db_dir / "studio" / "server.log", "ab")  # noqa: SIM115 (handed to the child)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIFTYONE_")}
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    with log:
        proc = subprocess.Popen(
            python_command("curation.catalog.supervisor", db_dir),
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, cwd=root,
            start_new_session=True)  # not in the user's process group: Ctrl-C is not for it
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        info = dbfiles.read_info(db_dir)
        if info and info.get("pid") == proc.pid:
            return info
        if proc.poll() is not None:
            raise CurationError(_why_not_started(db_dir))
        time.sleep(0.05)
    proc.terminate()
    raise CurationError(f"the catalog database in {db_dir} did not start within "
                        f"{START_SECONDS} s (see {db_dir / 'log' / 'mongod.log'})")
