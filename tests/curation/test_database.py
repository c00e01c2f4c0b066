"""Each workspace's own catalog database, as users meet it: real `studio` processes with no
FIFTYONE_DATABASE_URI, so every workspace starts and stops its own supervised mongod.

Two workspaces open at once, a moved and a copied workspace, mongod killed mid-curate, and
every way a command can end: nothing leaks into another workspace and no process stays behind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests import helpers
from tests.curation.conftest import make_workspace
from tests.helpers import free_port, start_studio, studio_env, tmpfs

pytestmark = [pytest.mark.slow, pytest.mark.server, pytest.mark.cli]
OWN_DB = {"FIFTYONE_DATABASE_URI": None, "STUDIO_DATABASE_FOR": None}  # no shared database


def studio(*args, check=True, timeout=240):
    return helpers.studio(*args, check=check, timeout=timeout, env=OWN_DB)


def assert_nothing_redone(out: str) -> None:
    """A second curate finds every image done; only the one missing file is retried."""
    assert "curated 1 new images (14 already done): 0 faces, 0 crops" in out, out


def processes_of(root: Path) -> list[str]:
    """Live processes (not this one) whose command line or environment names the workspace."""
    key = os.fsencode(str(root))
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        if int(proc.name) == os.getpid():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes()
            env = (proc / "environ").read_bytes()
            state = (proc / "stat").read_text().split(") ", 1)[1][0]
        except (OSError, IndexError):
            continue
        if state != "Z" and (key in cmd or key in env):
            shown = cmd.replace(b"\0", b" ")[:120].decode(errors="replace")
            found.append(f"{proc.name}: {shown}")
    return found


def wait_until_gone(root: Path, seconds: float = 30) -> list[str]:
    deadline = time.monotonic() + seconds
    while (left := processes_of(root)) and time.monotonic() < deadline:
        time.sleep(0.25)
    return left


def datasets_in(db_dir: Path) -> set[str]:
    """Dataset names stored in a workspace's database (read with pymongo, not FiftyOne)."""
    import pymongo

    from curation.catalog.dbfiles import socket_uri

    info = json.loads((db_dir / "studio" / "server.json").read_text())
    with pymongo.MongoClient(socket_uri(info["socket"]), directConnection=True,
                             serverSelectionTimeoutMS=5000) as client:
        return {d["name"] for d in client["fiftyone"]["datasets"].find({}, {"name": 1})}


HOLD = """
import sys, time
from curation.catalog import open_catalog
open_catalog(sys.argv[1]); print("open", flush=True); time.sleep(600)
"""


def hold_catalog_open(root: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(root)], stdout=subprocess.PIPE,
                            text=True, env=studio_env(OWN_DB))
    assert proc.stdout.readline().strip() == "open"
    return proc


def test_two_workspaces_open_at_once_keep_their_own_catalogs(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    make_workspace(a)
    make_workspace(b)
    holder = hold_catalog_open(a)  # like `studio app` left open on A
    try:
        out = studio("curate", "-w", str(b), "--no-progress")
        assert "curated 15 new images" in out.stdout
        a_id = json.loads((a / "workspace.json").read_text())["id"]
        b_id = json.loads((b / "workspace.json").read_text())["id"]
        assert a_id != b_id
        assert datasets_in(a / "db") == {f"studio-{a_id}", f"studio-{a_id}-sources"}
    finally:
        holder.kill()
        holder.wait()
    assert not wait_until_gone(a)
    # B's crops are in B's folder: still there with A's process gone, nothing redone.
    status = json.loads(studio("status", "-w", str(b), "--json").stdout)
    assert status["funnel"]["accepted"] > 0 and status["funnel"]["cropped"] > 0
    assert_nothing_redone(studio("curate", "-w", str(b), "--no-progress").stdout)
    assert not wait_until_gone(b)


def test_moved_and_copied_workspaces_keep_every_crop_and_label(tmp_path):
    ws = tmp_path / "ws"
    make_workspace(ws)
    studio("curate", "-w", str(ws), "--no-progress")
    shas = sorted(set(_crop_shas(ws)))[:4]
    labels = tmp_path / "labels.csv"
    labels.write_text("sha256,label,reason\n" + "".join(
        f"{s},{'reject' if k % 2 else 'accept'},by-test\n" for k, s in enumerate(shas)))
    studio("labels", "import", str(labels), "-w", str(ws))
    assert not wait_until_gone(ws)

    copy, moved = tmp_path / "copy", tmp_path / "moved"
    subprocess.run(["cp", "-a", str(ws), str(copy)], check=True)
    ws.rename(moved)
    for place in (moved, copy):
        out = place / "out.csv"
        studio("labels", "export", str(out), "-w", str(place))
        rows = out.read_text().splitlines()[1:]
        assert sorted(r.split(",")[0] for r in rows) == shas, place
        again = studio("curate", "-w", str(place), "--no-progress")
        assert_nothing_redone(again.stdout)
        paths = _crop_paths(place)
        assert paths and all(p.startswith(str(place) + "/faces/") and Path(p).is_file()
                             for p in paths)
        assert not wait_until_gone(place)


def _crop_shas(root: Path) -> list[str]:
    return _query(root, "print('\\n'.join(ds.values('sha256')))")


def _crop_paths(root: Path) -> list[str]:
    return _query(root, "print('\\n'.join(ds.values('filepath')))")


def _query(root: Path, code: str) -> list[str]:
    script = f"from curation.catalog import open_catalog\nds = open_catalog({str(root)!r})\n{code}"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=studio_env(OWN_DB), timeout=120, check=True).stdout
    return [line for line in out.splitlines() if line]


def test_mongod_killed_mid_curate_is_recovered(tmp_path):
    ws = tmp_path / "ws"
    make_workspace(ws)
    curate = start_studio("curate", "-w", str(ws), "--no-progress", env=OWN_DB)
    info_file = ws / "db" / "studio" / "server.json"
    deadline = time.monotonic() + 120
    while not info_file.is_file() and time.monotonic() < deadline:
        time.sleep(0.05)
    first = json.loads(info_file.read_text())
    assert curate.poll() is None, "curate ended before the kill"
    os.kill(first["mongod_pid"], signal.SIGKILL)
    out, err = curate.communicate(timeout=240)
    assert curate.returncode == 0, err
    assert "curated 15 new images" in out
    again = studio("curate", "-w", str(ws), "--no-progress")
    assert_nothing_redone(again.stdout)
    assert not wait_until_gone(ws)


def test_stray_mongod_left_on_the_folder_is_replaced_not_waited_on(tmp_path):
    """The old failure: a mongod that outlived its command kept mongod.lock and every later
    command hung for a minute. Now the stray is stopped with one line and work goes on."""
    from curation.catalog.dbfiles import mongod_binary

    ws = tmp_path / "ws"
    make_workspace(ws)
    (ws / "db" / "log").mkdir(parents=True)
    stray = subprocess.Popen([str(mongod_binary()), "--dbpath", str(ws / "db"), "--port", "0",
                              "--bind_ip", "127.0.0.1", "--nounixsocket", "--logpath",
                              str(ws / "db" / "log" / "stray.log")], start_new_session=True)
    try:
        time.sleep(2)
        t0 = time.monotonic()
        out = studio("curate", "-w", str(ws), "--no-progress")
        assert "curated 15 new images" in out.stdout and time.monotonic() - t0 < 90
        assert stray.wait(timeout=30) is not None
        assert "stray mongod" in (ws / "db" / "studio" / "server.log").read_text()
    finally:
        if stray.poll() is None:
            stray.kill()
    assert not wait_until_gone(ws)


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL],
                         ids=["sigint", "sigterm", "sigkill"])
def test_killed_curate_leaves_no_worker_or_database_behind(tmp_path, how):
    ws = tmp_path / "ws"
    make_workspace(ws)
    proc = start_studio("curate", "-w", str(ws), "--no-progress", "--workers", "2", env=OWN_DB,
                        stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any("spawn_main" in p for p in processes_of(ws)):
        time.sleep(0.05)
    assert any("spawn_main" in p for p in processes_of(ws)), "no worker started"
    os.kill(proc.pid, how)
    proc.wait(timeout=60)
    assert not wait_until_gone(ws), processes_of(ws)


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_stopped_label_and_app_leave_nothing_running(tmp_path, how):
    ws = tmp_path / "ws"
    make_workspace(ws)
    studio("curate", "-w", str(ws), "--no-progress")
    for command in ("label", "app"):
        port = free_port()
        proc = start_studio(command, "-w", str(ws), "--port", port, env=OWN_DB,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_http(port)
        os.kill(proc.pid, how)
        proc.wait(timeout=60)
        assert not wait_until_gone(ws), (command, processes_of(ws))
        _assert_port_closed(port)


def _wait_for_http(port: int, seconds: float = 120) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"nothing answered on port {port}")


def _assert_port_closed(port: int) -> None:
    import socket

    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still serves"


@contextmanager
def workspace_on_tmpfs(tmp_path: Path, size: str):
    """A generated workspace copied onto a small file system of its own (as root, like CI; a
    skip saying why where mount is not allowed). Yields (mount point, workspace)."""
    ws = tmp_path / "ws"
    make_workspace(ws)
    with tmpfs(tmp_path / "fs", size) as where:
        shutil.copytree(ws, where / "ws")
        yield where, where / "ws"


def curate_fails_in_one_line(ws: Path) -> str:
    proc = studio("curate", "-w", str(ws), "--no-progress", check=False, timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0, proc.stderr
    return proc.stderr


def test_read_only_workspace_is_one_line_not_a_traceback(tmp_path):
    with workspace_on_tmpfs(tmp_path, "1g") as (fs, ws):
        subprocess.run(["mount", "-o", "remount,ro", str(fs)], check=True)
        assert "read-only" in curate_fails_in_one_line(ws)


def test_full_disk_is_refused_up_front_in_one_line(tmp_path):
    with workspace_on_tmpfs(tmp_path, "64m") as (fs, ws):
        (fs / "filler").write_bytes(b"\0" * (60 * 2**20))
        t0 = time.monotonic()
        assert "MiB free on the disk" in curate_fails_in_one_line(ws)
        assert time.monotonic() - t0 < 30
        assert not (ws / "db").exists()  # nothing started, nothing half-written


def test_full_disk_makes_labels_and_export_say_so_in_one_line(tmp_path):
    """The database cannot start on a full disk, and its supervisor cannot even write why: the
    command still names the cause and the folder (it used to say "database start failed")."""
    from curation.catalog.dbfiles import mongod_pids_on

    with workspace_on_tmpfs(tmp_path, "400m") as (fs, ws):
        studio("labels", "export", tmp_path / "before.csv", "-w", str(ws))  # makes the catalog
        deadline = time.monotonic() + 60
        while mongod_pids_on(ws / "db") and time.monotonic() < deadline:  # stopped once idle
            time.sleep(0.2)
        with open(fs / "filler", "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 2**20)
            except OSError:
                pass
        for args in (("labels", "export", tmp_path / "after.csv"), ("export",)):
            proc = studio(*args, "-w", str(ws), check=False, timeout=120)
            assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0, proc.stderr
            assert f"no space left in {ws / 'db'}" in proc.stderr, proc.stderr
