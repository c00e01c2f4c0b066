"""Run folders: numbered, never overwritten, locked while in use; config.json, metrics.jsonl, TB.

    runs/00003-faces-r64/config.json      the resolved config, written before the first step
    runs/00003-faces-r64/metrics.jsonl    one JSON object per log step / event, append-only
    runs/00003-faces-r64/samples/         fixed-noise grids (step-NNNNNNN.png), reals.png,
                                          memorisation pairs (memorization-step-NNNNNNN.png)
    runs/00003-faces-r64/.lock            held (an OS lock) by the process training in the run
    runs/00003-faces-r64/checkpoints/     see gan.checkpoint
    runs/00003-faces-r64/tb/              TensorBoard events (when tensorboard is installed)
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan.config import TrainConfig
from gan.errors import GanError

RUN_ID = re.compile(r"^(\d{5})-")
LOCK = ".lock"  # the run's OS lock file, held while a process trains in the run
SAMPLES = "samples"  # the run's image folder: sample grids, reals, memorisation pairs
_GRID = re.compile(r"^step-(\d+)\.png$")


def sample_grid_path(run_dir: Path | str, step: int) -> Path:
    """The fixed-noise sample grid of `step`: samples/step-NNNNNNN.png."""
    return Path(run_dir) / SAMPLES / f"step-{step:07d}.png"


def memorization_pairs_path(run_dir: Path | str, step: int) -> Path:
    """The memorisation pairs of the evaluation at `step` (left: generated, right: nearest real)."""
    return Path(run_dir) / SAMPLES / f"memorization-step-{step:07d}.png"


def reals_grid_path(run_dir: Path | str) -> Path:
    """The grid of the training images the run started with."""
    return Path(run_dir) / SAMPLES / "reals.png"


def sample_grids(run_dir: Path | str) -> list[tuple[int, Path]]:
    """(step, file) of the run's fixed-noise sample grids, by step (the readers of
    `sample_grid_path`: the app's Train page, notifications)."""
    folder = Path(run_dir) / SAMPLES
    found = [(int(m.group(1)), p) for p in folder.glob("step-*.png") if (m := _GRID.match(p.name))]
    return sorted(found)


def is_running(run_dir: Path | str) -> bool:
    """Whether a process is training in the run now: it holds the run's OS lock (`Run.open`).
    Asks without waiting and without creating the lock file; safe from any process."""
    lock = Path(run_dir) / LOCK
    try:
        fd = os.open(lock, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Temp file, fsync, rename. The twin of records.write_atomic: gan/ must run on a GPU
    machine with nothing of the studio installed, so it keeps its own."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class RunRecord:
    """A run's config.json: the resolved config and what the run found when it started. Written
    only by `Run.write_record`, read only by `read_run_record` (the studio and the app included)."""

    config: TrainConfig
    data: Path | None = None  # the image folder it trained on (config.json: absolute, and relative
    # to the run folder as `data_from_run` when it lives in the same workspace)
    images: int = 0  # training images loaded
    skipped_images: int = 0  # files in `data` that could not be read
    world_size: int = 1  # processes under torchrun
    device: str = ""  # the resolved device, e.g. "cuda:0" or "cpu"

    def to_dict(self) -> dict[str, Any]:
        return {**self.config.to_dict(), "data": str(self.data) if self.data else None, "images": self.images,
                "skipped_images": self.skipped_images, "world_size": self.world_size, "device": self.device}


def read_run_record(run_dir: Path | str) -> RunRecord | None:
    """The record of a run that started; None when it has no config.json or it cannot be read."""
    try:
        raw = json.loads((Path(run_dir) / "config.json").read_text())
        return RunRecord(TrainConfig.from_dict(raw), _recorded_data(Path(run_dir), raw),
                         int(raw.get("images") or 0), int(raw.get("skipped_images") or 0),
                         int(raw.get("world_size") or 1), str(raw.get("device") or ""))
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def _recorded_data(run_dir: Path, raw: dict[str, Any]) -> Path | None:
    """The data folder of a record: `data_from_run` (relative to the run folder) when it exists
    there, so a workspace copied or moved whole finds its own export; else the absolute `data`
    (records written before `data_from_run`, or a run folder copied away from its data)."""
    absolute = Path(raw["data"]) if raw.get("data") else None
    relative = raw.get("data_from_run")
    if isinstance(relative, str) and relative:
        here = Path(os.path.normpath(run_dir.absolute() / relative))
        if here.is_dir() or absolute is None or not absolute.is_dir():
            return here
    return absolute


def _data_from_run(run_dir: Path, data: Path | None) -> str | None:
    """`data` relative to the run folder when both live in the run's grandparent (a workspace:
    runs/<id>/ beside exports/<version>/), else None: a folder elsewhere keeps its absolute path."""
    if data is None:
        return None
    home = run_dir.absolute().parent.parent
    data = data.absolute()
    if home == Path(home.anchor) or not data.is_relative_to(home):
        return None
    return os.path.relpath(data, run_dir.absolute())


def new_run_dir(runs_dir: Path | str, desc: str) -> Path:
    """Create `runs_dir/NNNNN-desc` with the next free number (mkdir is the atomic claim)."""
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    desc = re.sub(r"[^A-Za-z0-9._-]+", "_", desc).strip("_") or "run"
    while True:
        ids = [int(m.group(1)) for p in runs_dir.iterdir() if (m := RUN_ID.match(p.name))]
        path = runs_dir / f"{max(ids, default=-1) + 1:05d}-{desc}"
        try:
            path.mkdir()
            return path
        except FileExistsError:  # another process took this number a moment ago
            continue


def discard_unused_run(path: Path | str) -> bool:
    """Remove a run folder that never started (no config.json: nothing but its lock and empty
    folders), so a failed start neither keeps its number nor leaves a locked husk. True if removed."""
    path = Path(path)
    if not path.is_dir() or (path / "config.json").exists():
        return False
    for dirpath, _dirs, files in os.walk(path):
        if any(f != LOCK or Path(dirpath) != path for f in files):
            return False  # something real in it (or a stranger's folder): keep it
    shutil.rmtree(path, ignore_errors=True)
    return True


def reset_unstarted(path: Path | str) -> None:
    """Make a run killed before its first checkpoint startable again (it has nothing to resume):
    its metrics.jsonl is kept as metrics.attempt-N.jsonl and its config.json removed."""
    path = Path(path)
    n = len(list(path.glob("metrics.attempt-*.jsonl"))) + 1
    if (path / "metrics.jsonl").exists():
        (path / "metrics.jsonl").rename(path / f"metrics.attempt-{n}.jsonl")
    (path / "config.json").unlink(missing_ok=True)


def read_metrics(run_dir: Path | str) -> list[dict[str, Any]]:
    """The objects of a run's metrics.jsonl, oldest first; a torn or foreign line is skipped. (gan's
    own reader, the twin of records.iter_jsonl, since gan/ must run alone.)"""
    try:
        text = (Path(run_dir) / "metrics.jsonl").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    found = []
    for line in text.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict):
            found.append(rec)
    return found


def forget_metrics_after(run_dir: Path | str, step: int) -> int:
    """Drop the metrics.jsonl lines of steps after `step` (what a resume from the checkpoint of
    `step` logs again, so nothing is plotted twice) and a line torn by a kill; returns how many
    lines went. For the process holding the run's lock."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return 0
    keep, dropped = [], 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            dropped += 1
            continue
        if isinstance(rec, dict) and isinstance(rec.get("step"), int) and rec["step"] > step:
            dropped += 1
        else:
            keep.append(line + "\n")
    if dropped:
        atomic_write(path, "".join(keep).encode())
    return dropped


class Run:
    """An open run folder. Only the main process (rank 0) writes; the others get a no-op Run."""

    def __init__(self, path: Path, main: bool = True, log: Callable[[str], None] = print):
        self.path, self.main, self.log = Path(path), main, log
        self._lock_fd: int | None = None
        self._tb = None
        self._said: set[str] = set()  # keys of log_once messages already logged
        self._created = False  # open() made the folder (so close() may take an unused one away)

    def open(self, resume: bool) -> Run:
        if not self.main:
            return self
        self._created = not self.path.exists()
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:  # an OS lock: released when the holder dies, so a killed run never blocks its resume
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise GanError(f"run {self.path} is in use by another process") from None
        if not resume and (self.path / "config.json").exists():
            self.close()
            raise GanError(f"{self.path} already holds a run; resume it or choose another --out")
        if resume and not (self.path / "config.json").exists():
            self.close()
            raise GanError(f"{self.path} holds no run to resume")
        return self

    def write_record(self, record: RunRecord) -> None:
        """config.json: written before the first step (and again on resume)."""
        if self.main:
            raw = {**record.to_dict(), "data_from_run": _data_from_run(self.path, record.data)}
            atomic_write(self.path / "config.json", (json.dumps(raw, indent=2, sort_keys=True) + "\n").encode())

    def folder(self, name: str) -> Path:
        """A subfolder of the run (SAMPLES, …), created on first use."""
        p = self.path / name
        p.mkdir(parents=True, exist_ok=True)
        return p

    def log_once(self, key: str, msg: str) -> None:
        """Log `msg` the first time `key` comes up in this run, never again."""
        if key not in self._said:
            self._said.add(key)
            self.log(msg)

    def forget_after(self, step: int) -> int:
        """See forget_metrics_after (rank 0 only)."""
        return forget_metrics_after(self.path, step) if self.main else 0

    def record(self, rec: dict[str, Any]) -> None:
        """Append one line to metrics.jsonl (one write of a whole line) and the numbers to TB."""
        if not self.main:
            return
        line = json.dumps(rec, sort_keys=True, separators=(",", ":")) + "\n"
        with open(self.path / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        tb = self._writer()
        if tb is not None and "step" in rec:
            for k, v in rec.items():
                if isinstance(v, int | float) and not isinstance(v, bool) and k != "step":
                    tb.add_scalar(k, v, rec["step"])

    def image(self, tag: str, image, step: int) -> None:
        """A picture (a PIL image, e.g. the fixed-noise sample grid) to TensorBoard's Images tab."""
        tb = self._writer() if self.main else None
        if tb is not None:
            import numpy as np

            tb.add_image(tag, np.asarray(image.convert("RGB")), step, dataformats="HWC")

    def _writer(self):
        if self._tb is None:
            try:  # torch.utils.tensorboard needs the separate tensorboard package
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(self.path / "tb"))
            except ImportError:
                self.log("tensorboard is not installed; metrics go to metrics.jsonl only")
                self._tb = False
        return self._tb or None

    def close(self) -> None:
        if self._tb:
            self._tb.close()
        self._tb = None
        if self._lock_fd is not None:
            if self._created or RUN_ID.match(self.path.name):
                discard_unused_run(self.path)  # still holding the lock: nobody else is in it
            os.close(self._lock_fd)
            self._lock_fd = None
