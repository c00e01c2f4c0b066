"""Stopping a run cleanly: SIGINT / SIGTERM ask the training loop to stop after the current step.

The loop then writes a checkpoint and returns (`TrainResult.stopped`); `studio train` prints one
line and exits 0, and `--resume` continues exactly from there.
"""

from __future__ import annotations

import signal
import threading


class StopSignals:
    """While training: SIGINT / SIGTERM ask the loop to stop after the current step (checkpointed);
    a second signal raises KeyboardInterrupt at once. Only the main thread can catch signals:
    elsewhere (a scheduler's worker thread) nothing is installed."""

    def __init__(self):
        self.signal, self._old = "", {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for s in (signal.SIGINT, signal.SIGTERM):
                self._old[s] = signal.signal(s, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.signal:
            raise KeyboardInterrupt
        self.signal = signal.Signals(signum).name

    def __exit__(self, *exc) -> None:
        for s, old in self._old.items():
            signal.signal(s, old)
