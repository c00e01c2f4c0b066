"""Child processes that end with their parent, however the parent ends (kill -9 included):
curate's workers, the catalog's mongod, the app's Streamlit server (Linux PR_SET_PDEATHSIG)."""

from __future__ import annotations

import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int | None = None, sig: int = signal.SIGTERM) -> None:
    """Ask the kernel to send `sig` to this process when its parent dies. Call it in the child
    (a Popen preexec_fn, a pool initializer); pass the parent's pid to close the race where the
    parent died before this call (then the signal comes at once)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, sig)
    if parent_pid is not None and os.getppid() != parent_pid:
        os.kill(os.getpid(), sig)
