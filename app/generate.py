"""Generate: sample grids by seed and truncation, interpolations, directions, nearest real image."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import streamlit as st

from app import common, pickers
from gan.errors import GanError
from gan.rundir import read_run_record
from studio.workspace import Workspace

# gan's torch-backed modules (sampling, latent, data) are imported inside the functions, which
# run only once pick_model found a model: an empty workspace gets its "start here" box at once.


def render() -> None:
    ws = common.workspace()
    st.title("Generate")
    ckpt = pickers.pick_model(ws)
    from gan.sampling import grid_of, images_of, latent_batch

    g = common.generator(ckpt)
    seed, truncation, count = grid_settings()
    z = latent_batch(count, int(seed), g.z_dim, truncation or None)
    images = images_of(g, z)  # uint8 (N, R, R, 3)
    grid = grid_of(images)
    st.image(grid, caption=f"seed {seed}, truncation {truncation or 'off'}", width=min(768, 96 * int(count ** 0.5 + 0.5)))
    st.download_button("Download PNG", common.png_bytes(grid), file_name=f"samples-seed{seed}.png",
                       mime="image/png", icon=":material/download:")
    with st.expander("Nearest training image", icon=":material/compare:"):
        nearest(ckpt, images)
    with st.expander("Directions", icon=":material/tune:"):
        directions(ws, ckpt, g, z)
    walk(g, int(seed), truncation)


def surprise() -> None:
    st.session_state.seed = random.randrange(2**31)


def grid_settings() -> tuple[int, float, int]:
    """Seed, truncation (0 = off) and number of images of the grid."""
    if "seed" not in st.session_state:
        st.session_state.seed = 0
    c1, c2, c3, c4 = st.columns([2, 2, 2, 1], vertical_alignment="bottom")
    seed = c1.number_input("Seed", 0, 2**31 - 1, key="seed")
    truncation = c2.slider("Truncation", 0.0, 3.0, 0.0, 0.1,
                           help="Redraw noise beyond ±t: lower is more typical, less varied. 0 = off.")
    count = c3.select_slider("Images", [1, 4, 9, 16, 25, 36, 64], value=16)
    c4.button("Surprise me", on_click=surprise, icon=":material/casino:")
    return seed, truncation, count


def nearest(ckpt: Path, images: np.ndarray) -> None:
    """One sample of the grid beside the training image closest to it."""
    from gan.data import load_images
    from gan.sampling import grid_of, nearest_training_image

    record = read_run_record(ckpt.parents[1])
    train_dir = record.data if record else None
    pick = st.number_input("Sample", 1, len(images), 1, help="Which image of the grid (row by row).")
    if train_dir is None or not train_dir.is_dir():
        st.info("The run's training images are not on this machine any more.")
        return
    reals = common.cached_images(str(train_dir), record.config.resolution, load_images)
    sample = images[pick - 1]
    real, rms = nearest_training_image(sample, reals)
    left, right = st.columns(2)
    left.image(grid_of(sample), caption=f"sample {pick}", width=256)
    right.image(grid_of(real), caption=f"nearest training image (RMS {rms:.3f})", width=256)


def directions(ws: Workspace, ckpt: Path, g, z: np.ndarray) -> None:
    """A sample of the grid moved along PCA or saved directions, and along a label direction
    from the samples the user tags."""
    from gan.latent import along, tagged_direction
    from gan.sampling import grid_of, images_of

    count = len(z)
    base = st.number_input("Edit sample", 1, count, 1, key="edit-sample")
    z0 = z[base - 1: base]
    dirs = pickers.pick_directions(ws, ckpt, g, "gen-dirs")
    st.caption("PCA directions (GANSpace) are the main ways the generator's images vary; saved label "
               "directions come from the catalog (`studio directions --kind labels`).")
    moved = pickers.move_along(z0, dirs, "pc")
    st.caption("Label direction: tick the grid's samples that show an attribute (smiling, glasses…).")
    tagged = st.multiselect("Samples with the attribute", list(range(1, count + 1)), key="tagged")
    strength = st.slider("Along the label direction", -3.0, 3.0, 0.0, 0.25, key="label-amount")
    if tagged and strength:
        try:
            moved = along(moved, tagged_direction(z, [t - 1 for t in tagged]), strength)
        except GanError as exc:
            st.warning(str(exc))
    edited = images_of(g, np.concatenate([z0, moved]))
    left, right = st.columns(2)
    left.image(grid_of(edited[:1]), caption=f"sample {base}", width=192)
    right.image(grid_of(edited[1:]), caption="edited", width=192)
    st.download_button("Download edited PNG", common.png_bytes(grid_of(edited[1:])), file_name="edited.png",
                       mime="image/png", key="dl-edited")


def walk(g, seed: int, truncation: float) -> None:
    """Frames between two seeds' images, and their GIF."""
    from gan.sampling import interpolate

    st.subheader("Interpolate")
    c1, c2, c3 = st.columns(3)
    seed_a = c1.number_input("From seed", 0, 2**31 - 1, seed, key="seed-a")
    seed_b = c2.number_input("To seed", 0, 2**31 - 1, seed + 1, key="seed-b")
    frames_n = c3.slider("Frames", 3, 16, 8)
    frames = interpolate(g, int(seed_a), int(seed_b), frames_n, truncation or None)
    st.image(frames, width=96)
    st.download_button("Download GIF", common.gif_bytes(frames), file_name=f"walk-{seed_a}-{seed_b}.gif",
                       mime="image/gif", icon=":material/gif:")


render()
