"""What every page shares: the workspace, one-line errors and the "start here" hints."""

from __future__ import annotations

import io
import logging
import shlex
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from studio.errors import one_line
from studio.workspace import Workspace

log = logging.getLogger("studio.app")

# The next step for each missing stage, as the command that does it ({ws} = the workspace).
NEXT_STEP = {
    "crawl": (
        "No crawled images yet.",
        "Put start pages under `[sources] urls` in studio.toml, then crawl:",
        "studio crawl --workspace {ws}",
    ),
    "curate": (
        "No catalog yet.",
        "Detect, crop, score and deduplicate the crawled images:",
        "studio curate --workspace {ws}",
    ),
    "train": (
        "No training runs yet.",
        "Export the accepted crops and train (or start a run on the Train page):",
        "studio export --workspace {ws} && studio train --workspace {ws} --data {ws}/exports/<version>",
    ),
    "model": (
        "No model to sample from yet.",
        "Train a run, then promote one of its checkpoints on the Train page (or pick a run below):",
        "studio train --workspace {ws} --data {ws}/exports/<version> --steps 2000",
    ),
}


def workspace() -> Workspace:
    """The workspace `studio app` was started on ($STUDIO_WORKSPACE)."""
    return Workspace.at()


def start_here(stage: str, ws: Workspace | None = None) -> None:
    """A friendly empty state: what is missing and the command that makes it."""
    ws = ws or workspace()
    title, hint, command = NEXT_STEP[stage]
    with st.container(border=True):
        st.markdown(f"**Start here.** {title} {hint}")
        st.code(command.format(ws=shlex.quote(str(ws.root))), language="bash")


def no_workspace(ws: Workspace) -> None:
    st.title("GAN Studio")
    st.warning(f"No workspace at {ws.root}.")
    st.markdown("Create one, then restart the app on it:")
    st.code(f"studio init --workspace {shlex.quote(str(ws.root))}", language="bash")


def show_error(exc: BaseException, doing: str = "") -> None:
    """Report an error as one line in the page; the traceback goes to the server log only."""
    log.error("app error%s", f" while {doing}" if doing else "", exc_info=exc)
    prefix = f"Could not {doing}: " if doing else ""
    st.error(f"{prefix}{one_line(exc)}", icon=":material/error:")


@st.cache_resource(max_entries=4, show_spinner="Loading the generator…")
def _generator(checkpoint: str, _stamp: float):
    from gan.sampling import load_generator

    g, _cfg = load_generator(checkpoint)
    return g


def generator(checkpoint: Path):
    """G of a checkpoint folder, loaded once per process (the weights' mtime keys the cache, so
    a checkpoint re-saved after a roll-back is reloaded)."""
    return _generator(str(checkpoint), (checkpoint / "weights.safetensors").stat().st_mtime)


@st.cache_resource(max_entries=2, show_spinner="Loading the training images…")
def cached_images(folder: str, resolution: int, _load):
    """The training images of a run as one uint8 tensor (gan's own cache makes this fast)."""
    return _load(folder, resolution, log=lambda msg: None).images


@st.cache_resource(max_entries=2, show_spinner="Loading the discriminator…")
def _discriminator(checkpoint: str, _stamp: float):
    from gan.sampling import load_discriminator

    return load_discriminator(checkpoint)


def discriminator(checkpoint: Path):
    return _discriminator(str(checkpoint), (checkpoint / "weights.safetensors").stat().st_mtime)


def resolution(checkpoint: Path) -> int:
    """The image side of a checkpoint's generator."""
    from gan.sampling import image_side

    return image_side(generator(checkpoint))


@st.cache_resource(max_entries=2, show_spinner="Finding the main directions…")
def _pca(checkpoint: str, _stamp: float):
    from gan.latent import pca_directions

    g = generator(Path(checkpoint))
    return pca_directions(g, n=2000, k=min(10, g.z_dim))


def pca_directions(checkpoint: Path):
    return _pca(str(checkpoint), (checkpoint / "weights.safetensors").stat().st_mtime)


def png_bytes(image) -> bytes:
    """A PIL image as PNG bytes (for a download button)."""
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def gif_bytes(frames) -> bytes:
    """Frames (PIL images) as an animated GIF, there and back (`gan.sampling.save_gif`)."""
    from gan.sampling import save_gif

    with tempfile.TemporaryDirectory() as tmp:
        save_gif(frames, Path(tmp) / "walk.gif")
        return (Path(tmp) / "walk.gif").read_bytes()


def with_progress(work: Callable[[Callable[[int], None]], Any], steps: int, what: str) -> Any:
    """Run `work(on_step)` in a thread while a progress bar follows its `on_step(n)` calls
    (n = steps done of `steps`); its result, or its exception raised here."""
    done, result = [0], {}

    def on_step(n: int) -> None:
        done[0] = n

    def run() -> None:
        try:
            result["value"] = work(on_step)
        except Exception as exc:  # raised in the page below
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    bar = st.progress(0.0, text=f"{what}…")
    while thread.is_alive():
        n = min(done[0], steps)
        bar.progress(n / max(1, steps), text=f"{what}: step {n} of {steps}")
        time.sleep(0.2)
    bar.progress(1.0, text=f"{what}: done")
    if "error" in result:
        raise result["error"]
    return result["value"]
