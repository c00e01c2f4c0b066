"""Generate: sample grids by seed and truncation, interpolations, directions, nearest real image."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import streamlit as st
import torch

from app import common, explore
from app.explore import png

ws = common.workspace()
st.title("Generate")

models = explore.model_choices(ws)
if not models:
    common.start_here("model", ws)
    st.stop()

label = st.selectbox("Model", list(models))
ckpt = models[label]
g = common.generator(ckpt)

from gan.rundir import read_run_record  # noqa: E402
from gan.sampling import generate, grid_image, interpolate, latents, save_gif  # noqa: E402

# --- grid ------------------------------------------------------------------------------------------
if "seed" not in st.session_state:
    st.session_state.seed = 0


def surprise() -> None:
    st.session_state.seed = random.randrange(2**31)


c1, c2, c3, c4 = st.columns([2, 2, 2, 1], vertical_alignment="bottom")
seed = c1.number_input("Seed", 0, 2**31 - 1, key="seed")
truncation = c2.slider("Truncation", 0.0, 3.0, 0.0, 0.1,
                       help="Redraw noise beyond ±t: lower is more typical, less varied. 0 = off.")
count = c3.select_slider("Images", [1, 4, 9, 16, 25, 36, 64], value=16)
c4.button("Surprise me", on_click=surprise, icon=":material/casino:")

z = latents(count, int(seed), g.z_dim, truncation or None)
images = generate(g, z)  # uint8 (N, 3, R, R)
grid = grid_image(images)
st.image(grid, caption=f"seed {seed}, truncation {truncation or 'off'}", width=min(768, 96 * int(count ** 0.5 + 0.5)))
st.download_button("Download PNG", png(grid), file_name=f"samples-seed{seed}.png", mime="image/png",
                   icon=":material/download:")

# --- nearest training image -------------------------------------------------------------------
with st.expander("Nearest training image", icon=":material/compare:"):
    record = read_run_record(ckpt.parents[1])
    train_dir = record.data if record else None
    pick = st.number_input("Sample", 1, count, 1, help="Which image of the grid (row by row).")
    if train_dir is None or not train_dir.is_dir():
        st.info("The run's training images are not on this machine any more.")
    else:
        from gan.data import load_images
        from gan.metrics import memorization

        reals = common.cached_images(str(train_dir), record.config.resolution, load_images)
        sample = images[pick - 1: pick]
        _, j, rms = memorization(sample, reals, threshold=0.0, pairs=1)["closest_pairs"][0]
        left, right = st.columns(2)
        left.image(grid_image(sample), caption=f"sample {pick}", width=256)
        right.image(grid_image(reals[j: j + 1]), caption=f"nearest training image (RMS {rms:.3f})", width=256)

# --- directions ----------------------------------------------------------------------------------
with st.expander("Directions", icon=":material/tune:"):
    from gan.errors import GanError
    from gan.latent import edit, label_direction

    base = st.number_input("Edit sample", 1, count, 1, key="edit-sample")
    z0 = z[base - 1: base]
    dirs = explore.directions_picker(ws, ckpt, g, "gen-dirs")
    st.caption("PCA directions (GANSpace) are the main ways the generator's images vary; saved label "
               "directions come from the catalog (`studio directions --kind labels`).")
    moved = explore.move_along(z0, dirs, "pc")
    st.caption("Label direction: tick the grid's samples that show an attribute (smiling, glasses…).")
    tagged = st.multiselect("Samples with the attribute", list(range(1, count + 1)), key="tagged")
    strength = st.slider("Along the label direction", -3.0, 3.0, 0.0, 0.25, key="label-amount")
    if tagged and strength:
        try:
            labels = torch.zeros(count, dtype=torch.bool)
            labels[[t - 1 for t in tagged]] = True
            moved = edit(moved, label_direction(z, labels), [strength])
        except GanError as exc:
            st.warning(str(exc))
    edited = generate(g, torch.cat([z0, moved]))
    left, right = st.columns(2)
    left.image(grid_image(edited[:1]), caption=f"sample {base}", width=192)
    right.image(grid_image(edited[1:]), caption="edited", width=192)
    st.download_button("Download edited PNG", png(grid_image(edited[1:])), file_name="edited.png",
                       mime="image/png", key="dl-edited")

# --- interpolation ----------------------------------------------------------------------------
st.subheader("Interpolate")
c1, c2, c3 = st.columns(3)
seed_a = c1.number_input("From seed", 0, 2**31 - 1, int(seed), key="seed-a")
seed_b = c2.number_input("To seed", 0, 2**31 - 1, int(seed) + 1, key="seed-b")
frames_n = c3.slider("Frames", 3, 16, 8)
frames = interpolate(g, int(seed_a), int(seed_b), frames_n, truncation or None)
st.image(frames, width=96)
with tempfile.TemporaryDirectory() as tmp:
    save_gif(frames, Path(tmp) / "walk.gif")
    gif = (Path(tmp) / "walk.gif").read_bytes()
st.download_button("Download GIF", gif, file_name=f"walk-{seed_a}-{seed_b}.gif", mime="image/gif",
                   icon=":material/gif:")
