"""An interrupted crawl (SIGINT or SIGTERM) resumes where it stopped; a crawl opens no port."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.crawler.conftest import REPO, make_workspace, read_manifest, run_crawl, studio_cmd
from tests.fixtures.crawl_site import STORED, serve_crawl_site

pytestmark = pytest.mark.cli


def listening_inodes() -> set[str]:
    """Socket inodes in LISTEN state (TCP, IPv4 and IPv6)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if os.path.exists(table):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A":
                    inodes.add(fields[9])
    return inodes


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_crawl_resumes_and_opens_no_port(tmp_path, sig):
    if not os.path.exists("/proc/net/tcp"):
        pytest.skip("needs Linux /proc")
    ws = make_workspace(tmp_path / "ws")
    with serve_crawl_site(tmp_path, delay_s=0.25) as sites:
        proc = subprocess.Popen(studio_cmd(ws, "--url", sites.main.url), cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        listening_seen = set()
        deadline = time.monotonic() + 60
        while len(read_manifest(ws)) < 3 and time.monotonic() < deadline and proc.poll() is None:
            try:
                listening_seen |= socket_inodes(proc.pid) & listening_inodes()
            except FileNotFoundError:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "crawl ended before it could be interrupted"
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=60)
        assert listening_seen == set(), "the crawl process opened a listening socket"
        assert proc.returncode == 130, err
        assert "resume" in err
        first = read_manifest(ws)
        assert 3 <= len(first) < len(STORED)
        assert (ws / "crawl" / "job").is_dir()
        n = len(sites.main.requests)

        sites.main.delay_s = 0
        second = run_crawl(ws, "--url", sites.main.url)
        assert second.returncode == 0, second.stderr
        assert second.stats["resumed"] is True
        assert sorted(urlsplit(m["url"]).path for m in second.manifest) == STORED
        first_urls = {urlsplit(m["url"]).path for m in first}
        again = {r.path for r in sites.main.requests[n:] if r.status == 200} & first_urls
        assert again == set(), "images stored before the interruption were downloaded again"
        assert not (ws / "crawl" / "job").exists()
