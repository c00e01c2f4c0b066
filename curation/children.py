"""Child processes: the Python ones import nothing from their working directory, and they end
with their parent, however the parent ends (kill -9 included): curate's workers, the catalog's
mongod, the app's Streamlit server (Linux PR_SET_PDEATHSIG)."""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import signal
import sys
from collections.abc import Mapping
from multiprocessing.context import SpawnContext
from pathlib import Path

PR_SET_PDEATHSIG = 1


# The folder that holds records/, crawler/, curation/, gan/, studio/ and app/: this checkout or
# the installation's site-packages.
PACKAGES_ROOT = Path(__file__).resolve().parents[1]


def python_command(module: str, *args: object) -> list[str]:
    """`python -P -m MODULE ARGS` with this interpreter: every Python child of the studio and the
    app starts through this (with `python_env`). Plain `-m` puts the working directory first on
    sys.path, so a received workspace holding a `studio/` package, run in or run from, would be
    imported in place of the studio; -P leaves the working directory off sys.path."""
    return [sys.executable, "-P", "-m", module, *map(str, args)]


def python_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """`env` (default: this process's) for a `python_command` child: this installation's packages
    first on PYTHONPATH, so the child runs the same code as its parent (not another checkout
    installed in the same venv); entries that name the working directory (empty or relative)
    are dropped, as -P drops its own."""
    out = dict(os.environ if env is None else env)
    kept = [p for p in out.get("PYTHONPATH", "").split(os.pathsep) if os.path.isabs(p)]
    out["PYTHONPATH"] = os.pathsep.join([str(PACKAGES_ROOT), *kept])
    return out


def spawn_context() -> SpawnContext:
    """multiprocessing's spawn context, whose children ignore the working directory too: they
    start as `python -c ...` from this process's directory, which puts it first on sys.path
    before multiprocessing itself is imported (a workspace's `multiprocessing/` would run). The
    environment variable is -P for every Python started from here on; children started with -P
    pass it on by themselves."""
    os.environ["PYTHONSAFEPATH"] = "1"
    return mp.get_context("spawn")


def die_with_parent(parent_pid: int | None = None, sig: int = signal.SIGTERM) -> None:
    """Ask the kernel to send `sig` to this process when its parent dies. Call it in the child
    (a Popen preexec_fn, a pool initializer); pass the parent's pid to close the race where the
    parent died before this call (then the signal comes at once)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, sig)
    if parent_pid is not None and os.getppid() != parent_pid:
        os.kill(os.getpid(), sig)
