"""`studio crawl` user errors: one line on stderr, exit status 2, nothing written. They come
before any crawling, so `studio crawl` runs in-process here (tests/helpers.py)."""

from __future__ import annotations

import pytest
from filelock import FileLock

from tests.helpers import studio_in_process


def run_crawl(workspace, *args):
    return studio_in_process("crawl", "-w", workspace, *args)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--url", "ftp://example.org/"], "not an http(s) URL"),
        (["--url", "example.org"], "not an http(s) URL"),
        (["--url", "http://127.0.0.1:99999/"], "bad port"),
        (["--url", "http://[::1/"], "not an http(s) URL"),
        # Credentials are refused, and the line never repeats them (tests/crawler/test_credentials.py).
        (["--url", "http://artist:s3cret@127.0.0.1/"], "http://***@127.0.0.1/ has a user name or password"),
        ([], "no start URLs"),
        (["--url", "http://127.0.0.1/", "--depth", "-1"], "depth"),
    ],
)
def test_user_errors_are_one_line(workspace, args, message):
    run = run_crawl(workspace, *args)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("studio: error:") and message in lines[0], run.stderr
    assert "s3cret" not in run.stderr
    assert not (workspace / "raw").exists()


def test_missing_workspace(tmp_path):
    run = run_crawl(tmp_path / "nope", "--url", "http://127.0.0.1/")
    assert run.returncode == 2 and "no workspace" in run.stderr


def test_second_crawl_on_a_workspace_is_refused(workspace):
    with FileLock(workspace / ".locks" / "crawl.lock", timeout=0):
        run = run_crawl(workspace, "--url", "http://127.0.0.1:9/")
    assert run.returncode == 2 and "another studio process" in run.stderr


def test_help_lists_crawl():
    r = studio_in_process("crawl", "--help")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for flag in ("--url", "--allow-domain", "--image-domain", "--max-pages", "--max-images", "--depth"):
        assert flag in out


def test_unreachable_redis_is_a_user_error(tmp_path):
    from tests.crawler.conftest import make_workspace

    ws = make_workspace(tmp_path / "ws", redis_url='"redis://127.0.0.1:9/0"')  # nothing listens on 9
    run = run_crawl(ws, "--url", "http://127.0.0.1:9/")
    assert run.returncode == 2, run.stderr
    assert "cannot reach Redis" in run.stderr and "Traceback" not in run.stderr
    assert run.stderr.strip().count("\n") == 0
