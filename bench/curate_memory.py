"""Curate-worker memory on a very large photo: peak RSS of one worker process on a 64 Mpx JPEG.

Writes an 8000x8000 JPEG (smooth random landscape, the skimage astronaut planted at 4x, ~3 MB),
then decodes, detects (`human` + the cat cascades of the pollution check), crops and scores it in
a fresh child process, exactly as a `studio curate` worker does, and prints that process's peak
RSS (its VmHWM; ru_maxrss is printed too, but it is at least the launching process's own peak,
which Linux carries across exec). Before detection ran on a bounded working size the same work
took ~12 GB.

    .venv/bin/python bench/curate_memory.py [--side 8000]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fixtures.big_photo import curate_alone, write_big_photo  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=8000, help="image side in pixels (8000 = 64 Mpx)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        photo = write_big_photo(Path(tmp) / "photo.jpg", args.side, args.side)
        t0 = time.perf_counter()
        out = curate_alone(photo, Path(tmp) / "faces")
        out.update(seconds=round(time.perf_counter() - t0, 1), megapixels=args.side ** 2 / 1e6,
                   jpeg_mb=round(photo.stat().st_size / 1e6, 1), python=platform.python_version())
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
