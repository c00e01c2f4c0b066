"""Small helpers shared by the test areas: a free port, and the `studio` command run as a user
runs it (a child process) or in this process (for one-line errors, in milliseconds).

A test that starts `studio` as a child process (`studio`, `start_studio`) belongs to the full
suite only: mark it `cli` (see pyproject.toml's markers and the README's "Tests").
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import traceback
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# For child processes that share the 2 CPU cores with the test process (torch's own threads).
ONE_THREAD = {"OMP_NUM_THREADS": "1"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def studio_argv(*args: object) -> list[str]:
    """The command line of `studio ARGS` with this interpreter (paths may be given as Paths)."""
    return [sys.executable, "-m", "studio", *map(str, args)]


def studio_env(env: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """This process's environment (as it is now, fixtures' variables included) with the repo on
    PYTHONPATH and `env` laid over it; a None value removes the variable."""
    out = {**os.environ, "PYTHONPATH": str(REPO)}
    for key, value in (env or {}).items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def studio(*args: object, env: Mapping[str, str | None] | None = None, cwd: Path | str | None = None,
           timeout: float = 300, check: bool = False) -> subprocess.CompletedProcess:
    """Run `studio ARGS` in a child process to its end; text stdout and stderr captured.

    `check`: assert exit status 0 (the message is the child's stderr)."""
    proc = subprocess.run(studio_argv(*args), env=studio_env(env), cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def start_studio(*args: object, env: Mapping[str, str | None] | None = None,
                 **popen: object) -> subprocess.Popen:
    """Start `studio ARGS` in a child process (stdout and stderr piped, text) and return at once."""
    popen = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, **popen}
    return subprocess.Popen(studio_argv(*args), env=studio_env(env), **popen)


def studio_in_process(*args: object, env: Mapping[str, str | None] | None = None
                      ) -> subprocess.CompletedProcess:
    """Run `studio ARGS` through its console entry point (`studio.cli.main`) in this process, with
    Typer's CliRunner isolating stdin, stdout, stderr and `env`: what a child process would print
    and its exit status, for tests of errors that come before any real work (a bad flag, a missing
    workspace). An exception that escapes `main` becomes a traceback on stderr and status 1, as
    in a child process."""
    from typer.testing import CliRunner

    from studio.cli import main

    argv = [str(a) for a in args]
    code = 0
    with CliRunner().isolation(env=env) as (stdout, stderr, _):
        try:
            main(argv)
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                code = exc.code or 0
            else:
                print(exc.code, file=sys.stderr)
                code = 1
        except Exception:  # reported as a child process would report it
            traceback.print_exc(file=sys.stderr)
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        out, err = (s.getvalue().decode(errors="replace") for s in (stdout, stderr))
    return subprocess.CompletedProcess([*studio_argv(), *argv], code, out, err)


def stop_group(proc: subprocess.Popen, grace: float = 30) -> None:
    """Stop a child started with start_new_session=True and everything it started: SIGTERM to
    its process group, SIGKILL after `grace` seconds."""
    import signal

    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextmanager
def tmpfs(where: Path, size: str):
    """A file system of its own at `where` (as root, like CI; a skip saying why where mount is
    not allowed), unmounted afterwards."""
    import pytest

    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
