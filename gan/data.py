"""Training images: decode a folder once into a uint8 cache, then sample batches on the device.

Any folder of images works (an export's `images/` or anything else), searched recursively.
The first run decodes, centre-crops and resizes every image into one (N, 3, R, R) uint8 array
saved as `<cache>/images/<folder-id>/images-r<R>-<key>.npy`, never inside the folder itself (a
cache there would break tools that read the folder, e.g. torchvision's ImageFolder): `<cache>` is
$GAN_STUDIO_CACHE_DIR, else the user cache dir (~/.cache/gan-studio on Linux, as platformdirs
names it). The folder id hashes the folder's absolute path; the key hashes the file list, sizes,
mtimes and resolution, so any change to the folder makes a new cache. Later runs load it in one
read. Batches are then drawn (and flipped) on the device that holds the cache, with no per-step
Python decoding.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gan.errors import GanError
from gan.rundir import atomic_write

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
CACHE_VERSION = 1  # bump when decoding changes, so old caches are not reused


@dataclass
class ImageSet:
    images: torch.Tensor  # (N, 3, R, R) uint8 on the CPU
    skipped: int  # files that could not be decoded
    cache: Path | None  # where the cache lives (None: folder not writable)


def list_images(root: Path) -> list[Path]:
    """Image files under `root`, recursively, in a stable order; hidden folders are skipped, and
    so is anything with an image's name that is not a regular file (a FIFO, whose open would
    wait for a writer for ever; a device; a dangling symlink). A symlink to a regular file counts;
    symlinked folders are not entered (as os.walk)."""
    found, folders = [], [Path(root)]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue  # unreadable or gone: os.walk skips it too
        subfolders = []
        for e in entries:
            if e.name.startswith("."):
                continue
            try:
                if e.is_dir(follow_symlinks=False):
                    subfolders.append(Path(e.path))
                elif Path(e.name).suffix.lower() in IMAGE_EXTS and e.is_file():  # follows symlinks
                    found.append(Path(e.path))
            except OSError:
                continue
        folders += reversed(subfolders)
    return found


def user_cache_dir() -> Path:
    """GAN Studio's cache folder: $GAN_STUDIO_CACHE_DIR, else the platform's user cache dir
    (what platformdirs.user_cache_dir("gan-studio") gives; gan/ keeps to the stdlib)."""
    override = os.environ.get("GAN_STUDIO_CACHE_DIR")
    if override:
        return Path(override)
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "gan-studio"
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local")) / "gan-studio" / "Cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "gan-studio"


def image_cache_dir(root: Path) -> Path:
    """Where the caches of data folder `root` live (outside it)."""
    folder_id = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return user_cache_dir() / "images" / folder_id


def cache_key(root: Path, files: list[Path], resolution: int) -> str:
    h = hashlib.sha256(f"v{CACHE_VERSION} r{resolution}\n".encode())
    for f in files:
        try:
            st = f.stat()
        except OSError:  # gone since it was listed: decoding skips it
            continue
        h.update(f"{f.relative_to(root).as_posix()}\t{st.st_size}\t{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


def decode_image(path: Path, resolution: int) -> np.ndarray | None:
    """(3, R, R) uint8, centre-cropped to a square and resized; None when unreadable or not a
    regular file (O_NONBLOCK: a FIFO put there since the listing opens at once, and is refused)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with open(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return None
            return _decode(f, resolution)
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
        return None  # truncated, corrupt, not an image, or a decompression bomb


def _decode(f, resolution: int) -> np.ndarray:
    with Image.open(f) as im:
        im.draft("RGB", (resolution, resolution))  # JPEG: decode at reduced size, much faster
        im = im.convert("RGB")
        w, h = im.size
        s = min(w, h)
        box = ((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)
        im = im.resize((resolution, resolution), Image.Resampling.LANCZOS, box=box)
        return np.asarray(im, dtype=np.uint8).transpose(2, 0, 1).copy()


def load_images(root: Path | str, resolution: int, log: Callable[[str], None] = print,
                stopped: Callable[[], str] = lambda: "") -> ImageSet:
    """The folder's images as a uint8 tensor, from the cache when the folder is unchanged.

    `stopped`: the name of a signal that asked the run to stop (`StopSignals.signal`), checked
    while decoding: decoding ends within a fraction of a second plus the images in flight, with a
    GanError, since there is no step to finish and nothing to checkpoint."""
    root = Path(root)
    if not root.is_dir():
        raise GanError(f"data folder {root} does not exist")
    files = list_images(root)
    if not files:
        raise GanError(f"no images in {root} (looked for {', '.join(sorted(IMAGE_EXTS))})")
    key = cache_key(root, files, resolution)
    cache = image_cache_dir(root) / f"images-r{resolution}-{key}.npy"
    meta = cache.with_suffix(".json")
    if cache.exists() and meta.exists():
        cached = _read_cache(cache, resolution)
        if cached is not None:
            return ImageSet(torch.from_numpy(cached[0]), cached[1], cache)
        log(f"the image cache {cache.name} is damaged; rebuilding it")
    log(f"decoding {len(files)} images from {root} at {resolution} px (once; cached)")
    decoded = _decode_all(files, resolution, stopped)
    good = [a for a in decoded if a is not None]
    skipped = len(decoded) - len(good)
    if skipped:
        log(f"skipped {skipped} unreadable image(s) in {root}")
    if not good:
        raise GanError(f"none of the {len(files)} images in {root} could be decoded")
    arr = np.stack(good)
    try:
        _save_cache(cache, arr, {"files": len(files), "images": len(good), "skipped": skipped,
                                 "folder": str(root.resolve())})
    except OSError as exc:
        log(f"cannot write the image cache in {cache.parent} ({exc.strerror}); keeping it in memory only")
        cache = None
    return ImageSet(torch.from_numpy(arr), skipped, cache)


def _decode_all(files: list[Path], resolution: int, stopped: Callable[[], str]) -> list[np.ndarray | None]:
    """decode_image of every file, in order, on a thread per core (PIL releases the GIL)."""
    pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1)
    try:
        futures = [pool.submit(decode_image, f, resolution) for f in files]
        for future in futures:
            while not future.done():
                wait([future], timeout=0.2)  # a signal's handler runs; then look at its flag
                if stopped():
                    raise GanError(f"stopped by {stopped()} while decoding the training images "
                                   f"({sum(f.done() for f in futures)} of {len(files)} done): "
                                   "nothing was trained")
        return [f.result() for f in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # waits only for the images in flight


def _read_cache(cache: Path, resolution: int) -> tuple[np.ndarray, int] | None:
    """The cached array and its count of skipped files; None when the array or its meta file
    cannot be read or do not fit together (a torn or hand-edited cache is rebuilt, not fatal)."""
    try:
        meta = json.loads(cache.with_suffix(".json").read_text())
        skipped, images = meta["skipped"], meta["images"]
        arr = np.load(cache, allow_pickle=False)  # plain array file: nothing is unpickled
    except (OSError, ValueError, KeyError, TypeError, EOFError):
        return None
    if (not isinstance(skipped, int) or isinstance(skipped, bool) or skipped < 0 or arr.dtype != np.uint8
            or arr.shape[1:] != (3, resolution, resolution) or arr.shape[0] != images):
        return None
    return arr, skipped


def _save_cache(cache: Path, arr: np.ndarray, meta: dict) -> None:
    """The array first, then its meta file, each atomically: a reader finds both whole, or a
    cache without meta (a miss), never a half-written file."""
    cache.parent.mkdir(parents=True, exist_ok=True)
    for old in cache.parent.glob(f"images-r{arr.shape[-1]}-*"):  # stale caches of this resolution
        old.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=f".{cache.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:  # streamed, not through atomic_write: no second copy in memory
            np.save(f, arr, allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, cache)  # readers see the whole cache or none
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    atomic_write(cache.with_suffix(".json"), json.dumps(meta).encode())
    _forget_gone_folders(cache.parent.parent)


def _forget_gone_folders(images_cache: Path) -> None:
    """Delete the caches of data folders that no longer exist (the cache is outside them, so
    deleting a folder no longer deletes its cache)."""
    for meta in images_cache.glob("*/images-r*.json"):
        try:
            folder = json.loads(meta.read_text()).get("folder")
        except (OSError, ValueError):
            continue
        if folder and not Path(folder).exists():
            shutil.rmtree(meta.parent, ignore_errors=True)


class DeviceSampler:
    """Random batches in [-1, 1], half of them mirrored (unless `xflip` is off), drawn where the
    cache is held."""

    def __init__(self, images: torch.Tensor, device: torch.device, on_device: bool, seed: int,
                 xflip: bool = True):
        self.device, self.xflip = device, xflip
        self.images = images.to(device) if on_device else images.pin_memory() if device.type == "cuda" else images
        self.gen = torch.Generator(self.images.device).manual_seed(seed)

    def __len__(self) -> int:
        return self.images.shape[0]

    def sample(self, batch: int) -> torch.Tensor:
        src = self.images
        idx = torch.randint(src.shape[0], (batch,), device=src.device, generator=self.gen)
        flip = torch.rand(batch, device=src.device, generator=self.gen) < (0.5 if self.xflip else 0.0)
        x = src[idx]  # the flip draw is made either way: the batches' RNG stream does not depend on xflip
        x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)  # (B, 3, R, R) uint8
        x = x.to(self.device, non_blocking=True)
        return x.float().div_(127.5).sub_(1.0)


def fits_on_device(images: torch.Tensor, device: torch.device, setting: str) -> bool:
    """`data_on_device`: yes, no, or auto = a CUDA device with room for the cache 4 times over."""
    if device.type != "cuda" or setting == "no":
        return False
    if setting == "yes":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return images.numel() * 4 < free
