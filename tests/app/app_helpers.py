"""Helpers of the app tests: run the real entry script in AppTest on a given workspace."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.helpers import free_port, stop_group  # noqa: F401  (free_port re-exported for the app tests)

ENTRY = Path(__file__).resolve().parents[2] / "app" / "main.py"
PAGES = ["overview.py", "browse.py", "label.py", "rejected.py", "duplicates.py", "train.py", "generate.py",
         "complete.py", "project.py"]


def open_page(monkeypatch, ws: Path, page: str = "overview.py", timeout: float = 60) -> AppTest:
    """AppTest of the app on workspace `ws`, switched to `page` and run once."""
    monkeypatch.setenv("STUDIO_WORKSPACE", str(ws))
    at = AppTest.from_file(str(ENTRY), default_timeout=timeout)
    at.run()
    if page != "overview.py":
        at.switch_page(page).run()
    return at


def texts(at: AppTest) -> str:
    """Every piece of text on the page, to search in."""
    parts = [e.value for kind in ("markdown", "caption", "info", "warning", "error", "success",
                                  "code", "title", "subheader", "header")
             for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def assert_clean(at: AppTest) -> None:
    """No uncaught exception and no error box."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def wait_http(url: str, timeout: float = 60) -> str:
    """GET `url` until it answers (the server is starting); its body."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@contextmanager
def running_app(ws: Path, port: int) -> Iterator[subprocess.Popen]:
    """`studio app` on `ws` in a subprocess, stopped (with its Streamlit child) on exit."""
    log = open(ws / "app.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "studio", "app", "-w", str(ws), "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        stop_group(proc, grace=20)  # the session holds studio and streamlit only
        log.close()
