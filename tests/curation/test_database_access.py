"""Only the workspace's owner reaches its database (issue 22, item 5): mongod listens on a unix
socket in a 0700 folder and on no TCP port, so another user of the machine cannot read or
insert a document; a workspace whose server an older version started on a TCP port is moved to
the socket without a word from the user.

Real `studio` processes on a workspace's own mongod; "another user" is `nobody`, which needs
root to switch to (CI runs as root; elsewhere that test is skipped, saying why).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.helpers import REPO, studio_env

pytestmark = [pytest.mark.slow, pytest.mark.server, pytest.mark.cli]
OWN_DB = {"FIFTYONE_DATABASE_URI": None, "STUDIO_DATABASE_FOR": None}
HOLD = """
import sys, time
from curation.catalog import open_catalog
ds = open_catalog(sys.argv[1]); print("open", len(ds), flush=True); time.sleep(600)
"""
# What another user runs: the system's Python, stdlib only (it cannot read root's venv).
PROBE = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except OSError as exc:
    print("refused", type(exc).__name__)
else:
    print("connected")
"""
SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.fixture
def shared_dir():
    """A folder every user may enter, as home folders often are: the only thing between another
    user and the database is then what the studio itself sets."""
    base = Path(tempfile.mkdtemp(prefix="studio-access-"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def _workspace(base: Path) -> Path:
    ws = base / "ws"
    ws.mkdir()
    ws.chmod(0o755)
    (ws / "studio.toml").write_text("")
    return ws


def _hold(ws: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(ws)], env=studio_env(OWN_DB), cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("open"), proc.stderr.read()[-3000:] if proc.poll() is not None else line
    return proc


def _release(proc: subprocess.Popen, ws: Path) -> None:
    """End the holder and wait until the supervisor has stopped mongod (no client is left)."""
    from curation.catalog.dbfiles import mongod_pids_on

    proc.kill()
    proc.wait(timeout=30)
    deadline = time.monotonic() + 60
    while mongod_pids_on(ws / "db") and time.monotonic() < deadline:
        time.sleep(0.2)


def _tcp_listeners(pid: int) -> list[str]:
    """Local addresses of the TCP sockets process `pid` listens on (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.append(fields[1])
    return found


def _as_nobody(sock: str) -> str:
    done = subprocess.run([SYSTEM_PYTHON, "-c", PROBE, sock], user="nobody", capture_output=True,
                          text=True, timeout=30, cwd="/")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_another_user_cannot_reach_the_workspace_database(shared_dir):
    if os.geteuid() != 0 or not os.path.exists(SYSTEM_PYTHON):
        pytest.skip("needs root (to run a probe as `nobody`) and /usr/bin/python3")
    ws = _workspace(shared_dir)
    holder = _hold(ws)
    try:
        info = json.loads((ws / "db" / "studio" / "server.json").read_text())
        sock = info["socket"]
        assert _tcp_listeners(info["mongod_pid"]) == []  # no port any local user could connect to
        assert os.stat(sock).st_mode & 0o777 == 0o700
        assert os.stat(os.path.dirname(sock)).st_mode & 0o777 == 0o700
        assert _as_nobody(sock) == "refused PermissionError"
        # The probe itself works: with the folder and the socket opened up, nobody gets in. So
        # it is these permissions, set by the studio, that keep other users out.
        os.chmod(os.path.dirname(sock), 0o755)
        os.chmod(sock, 0o777)
        try:
            assert _as_nobody(sock) == "connected"
        finally:
            os.chmod(sock, 0o700)
            os.chmod(os.path.dirname(sock), 0o700)
    finally:
        _release(holder, ws)


def test_a_workspace_served_on_tcp_by_an_older_version_moves_to_the_socket(shared_dir):
    """The old supervisor's record names a TCP port; the next command stops that server and
    starts its own on the socket, and the catalog is the same."""
    from curation.catalog.dbfiles import mongod_binary
    from tests.helpers import free_port

    ws = _workspace(shared_dir)
    holder = _hold(ws)
    _release(holder, ws)
    db, port = ws / "db", free_port()
    old = subprocess.Popen([str(mongod_binary()), "--dbpath", str(db), "--bind_ip", "127.0.0.1",
                            "--port", str(port), "--nounixsocket", "--logpath",
                            str(db / "log" / "old.log")], start_new_session=True)
    try:
        import pymongo

        with pymongo.MongoClient("127.0.0.1", port, directConnection=True,
                                 serverSelectionTimeoutMS=30_000) as client:
            datasets = [d["name"] for d in client["fiftyone"]["datasets"].find()]
        assert len(datasets) == 2  # the catalog and its sources
        (db / "studio" / "server.json").write_text(json.dumps(
            {"pid": old.pid, "mongod_pid": old.pid, "port": port, "dbpath": str(db)}))
        holder = _hold(ws)
        try:
            assert old.wait(timeout=60) is not None  # the TCP server is gone
            info = json.loads((db / "studio" / "server.json").read_text())
            assert info["socket"] and "port" not in info
            assert _tcp_listeners(info["mongod_pid"]) == []
            from curation.catalog.dbfiles import socket_uri

            with pymongo.MongoClient(socket_uri(info["socket"]), directConnection=True,
                                     serverSelectionTimeoutMS=5000) as client:
                assert sorted(d["name"] for d in client["fiftyone"]["datasets"].find()) == sorted(datasets)
        finally:
            _release(holder, ws)
    finally:
        if old.poll() is None:
            old.kill()
            old.wait()
