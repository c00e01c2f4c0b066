"""`studio demo` itself, end to end, as `make demo` runs it (`python -m studio demo`).

1. a first demo (`--no-app`; through its hidden knobs a 20-step training and 10 portraits in the
   site's archive instead of 100) builds the site from installed packages only (no connection leaves 127.0.0.1, an empty scikit-image data
   cache), crawls it, trains and promotes, and says where to look; every path it names exists;
2. a second demo on the same workspace reuses it (incremental: nothing new, no training), stops
   the demo site, serves the app on a free port (`--port 0`) until Ctrl-C, and exits cleanly;
3. a workspace `studio demo` did not create is refused before anything is changed.

The tests share one demo workspace and run in file order.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from studio.config import load_config
from studio.demo.command import CPU
from studio.demo.site import DEMO_IMAGES
from studio.workspace import Workspace
from tests.pipeline.pipeline_helpers import studio

pytestmark = [pytest.mark.slow, pytest.mark.cli]

# `python -m studio demo …` with every connection to anything but loopback refused: the demo
# must work on a machine without internet (its images come from installed packages).
OFFLINE_STUDIO = textwrap.dedent("""
    import runpy, sys

    def offline(event, args):
        if event == "socket.connect" and isinstance(args[1], tuple) and args[1][0] not in ("127.0.0.1", "::1"):
            raise ConnectionRefusedError(f"studio demo tried to connect to {args[1]}: it must work offline")

    sys.addaudithook(offline)
    sys.argv[0] = "studio"
    runpy.run_module("studio", run_name="__main__", alter_sys=True)
""")


def demo_command(*args: str) -> list[str]:
    return [sys.executable, "-c", OFFLINE_STUDIO, "demo", *args]


def demo_env(tmp: Path) -> dict[str, str]:
    empty = tmp / "empty-data-cache"
    empty.mkdir(exist_ok=True)
    # Unbuffered: the test reads the demo's lines as they come. An empty scikit-image cache: a
    # sample that is not shipped in the wheel would need a download, which the audit hook refuses.
    # 10 portraits in the site's archive instead of 100: the same pages, a shorter crawl and curation.
    return {**os.environ, "PYTHONUNBUFFERED": "1", "SKIMAGE_DATADIR": str(empty), "STUDIO_DEMO_PORTRAITS": "10"}


def refused(url: str) -> bool:
    host, port = re.match(r"http://([\d.]+):(\d+)/", url).groups()
    with socket.socket() as s:
        return s.connect_ex((host, int(port))) != 0


def where_to_look(stdout: str) -> dict[str, str]:
    part = stdout.split("Where to look:\n", 1)[1]
    rows = {}
    for line in part.splitlines():
        m = re.match(r"  (\w[\w ]*?)\s{2,}(\S.*)$", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


@pytest.fixture(scope="module")
def demo_ws(fiftyone_db, tmp_path_factory):
    return tmp_path_factory.mktemp("demo") / "demo-data"


def test_demo_builds_crawls_trains_promotes_offline_and_says_where_to_look(demo_ws, tmp_path):
    r = subprocess.run(demo_command("--no-app", "--steps", "20", "--workspace", str(demo_ws)),
                       capture_output=True, text=True, env=demo_env(tmp_path), timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "created the workspace" in out and "20 steps at 32 px" in out
    site_url = re.search(r"2\. serving it at (http://\S+)", out).group(1)
    assert f"the demo site at {site_url} is stopped" in out and refused(site_url)
    assert "Done: promoted 00000-pipeline" in out
    look = where_to_look(out)
    ws = Workspace.at(demo_ws)
    run = ws.runs_dir / "00000-pipeline"
    assert look["report"] == str(run / "report.md") and (run / "report.md").is_file()
    report = json.loads((run / "report.json").read_text())
    assert report["status"] == "done" and report["stages"]["train"]["result"]["steps"] == 20
    assert report["stages"]["crawl"]["result"]["new_images"] > len(DEMO_IMAGES)  # the archive too
    export = Path(look["dataset"].split(" (crops in")[0])
    assert export == ws.exports_dir / "v0001" and (export / "manifest.jsonl").is_file()
    assert len(list((export / "images").iterdir())) == report["stages"]["export"]["result"]["images"] > 0
    pointer = json.loads(ws.current_model.read_text())
    promoted = run / pointer["checkpoint"]
    assert look["promoted model"].startswith(str(promoted)) and (promoted / "weights.safetensors").is_file()
    assert Path(look["samples"]).is_dir()
    assert look["the app"] == f"studio app --workspace {ws.root}"
    assert load_config(ws.config_path).pipeline.steps == CPU["pipeline"]["steps"] != 20  # --steps: this run only
    # `studio sample`, as the demo suggests, works on the result.
    grid = tmp_path / "grid.png"
    s = studio("sample", "--workspace", str(ws.root), "--n", "4", "--out", str(grid))
    assert s.returncode == 0 and grid.stat().st_size > 0, s.stderr


def read_until(proc: subprocess.Popen, pattern: str, lines: list[str], timeout: float = 300) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"the demo ended (status {proc.wait()}) before {pattern!r}:\n" + "".join(lines))
        lines.append(line)
        m = re.search(pattern, line)
        if m:
            return m
    raise AssertionError(f"{pattern!r} not printed in time:\n" + "".join(lines))


def group_gone(pgid: int, timeout: float = 30) -> bool:
    """True once no process of the group is left (an exited child may await reaping a moment)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def test_demo_again_reuses_the_workspace_stops_the_site_and_serves_the_app_until_ctrl_c(demo_ws, tmp_path):
    ws = Workspace.at(demo_ws)
    pointer = ws.current_model.read_bytes()
    # Its own process group, as in a terminal: Ctrl-C reaches the demo and the app it started.
    proc = subprocess.Popen(demo_command("--port", "0", "--workspace", str(demo_ws)), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=demo_env(tmp_path), start_new_session=True)
    lines: list[str] = []
    try:
        site_url = read_until(proc, r"2\. serving it at (http://\S+)", lines).group(1)
        read_until(proc, r"reusing the existing demo workspace", lines)
        read_until(proc, r"Done: no new model; the promoted model stays", lines)
        app_url = read_until(proc, r"GAN Studio on (http://127\.0\.0\.1:\d+)", lines).group(1)
        assert not app_url.endswith(":0")
        deadline = time.monotonic() + 120
        while True:  # the app answers…
            try:
                with urllib.request.urlopen(f"{app_url}/_stcore/health", timeout=5) as resp:
                    assert resp.read() == b"ok"
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "".join(lines)
                time.sleep(0.5)
        assert refused(site_url)  # …and the demo site is no longer served
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
        assert proc.wait(timeout=60) == 0, "".join(lines)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert group_gone(proc.pid), "a process of the demo's group (the app?) outlived it"
    assert refused(app_url + "/")
    assert ws.current_model.read_bytes() == pointer
    assert sorted(p.name for p in ws.runs_dir.iterdir()) == ["00000-pipeline", "00001-pipeline"]
    train = json.loads((ws.runs_dir / "00001-pipeline" / "report.json").read_text())["stages"]["train"]
    assert not train["result"]["trained"]


def test_demo_refuses_a_workspace_it_did_not_create(fiftyone_db, tmp_path):
    r = studio("init", "--workspace", str(tmp_path / "mine"), "--url", "https://example.org/")
    assert r.returncode == 0, r.stderr
    before = (tmp_path / "mine" / "studio.toml").read_text()
    r = studio("demo", "--no-app", "--workspace", str(tmp_path / "mine"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "`studio demo` did not create" in r.stderr and "--workspace DIR" in r.stderr
    assert (tmp_path / "mine" / "studio.toml").read_text() == before
    assert not (tmp_path / "mine" / "site").exists()
