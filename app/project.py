"""Project: find your own face in the generator's latent space, then edit and interpolate it."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from app import common, explore, uploads
from app.explore import png

ws = common.workspace()
st.title("Project")
st.caption("Upload a face: the optimiser looks for the latent whose generation is closest to it "
           "(pixels + the discriminator's features); then edit it with the directions or walk to a seed.")

models = explore.model_choices(ws)
if not models:
    common.start_here("model", ws)
    st.stop()
ckpt = models[st.selectbox("Model", list(models), key="project-model")]
g, d, side = common.generator(ckpt), common.discriminator(ckpt), common.resolution(ckpt)

from gan.latent import project  # noqa: E402
from gan.sampling import generate, grid_image, interpolate_latents, latents, save_gif  # noqa: E402

up = st.file_uploader("Your image: PNG, JPEG or WebP, up to 10 MB (a face, cropped like the training set)",
                      type=["png", "jpg", "jpeg", "webp"], key="project-upload")
if up is None:
    st.info("Upload an image to project.")
    st.stop()
try:
    image = uploads.square(uploads.read_image(up.getvalue()), side)
except uploads.UploadError as exc:
    st.error(f"Cannot use this file: {exc}.")
    st.stop()
target = torch.from_numpy(np.array(image)).permute(2, 0, 1).contiguous()  # (3, R, R) uint8

c1, c2 = st.columns(2)
steps = c1.slider("Steps", 10, 1000, 200, 10, key="project-steps")
restarts = c2.slider("Restarts", 1, 8, 4, key="project-restarts")
key = (str(ckpt), hashlib.sha256(up.getvalue()).hexdigest())
if st.button("Project", type="primary", icon=":material/center_focus_strong:"):
    with st.spinner(f"Optimising {restarts} latents for {steps} steps…"):
        p = project(g, target, d, steps=steps, restarts=restarts)
    rms = float(((p.image.float() - target.float()) / 255).pow(2).mean().sqrt())
    st.session_state.projection = {"key": key, "z": p.z.cpu(), "rms": rms, "steps": steps}

done = st.session_state.get("projection")
if done is None or done["key"] != key:
    st.image(image, caption="Your image", width=192)
    st.info("Press Project to find the closest generation.")
    st.stop()

z_star = done["z"]
cols = st.columns(3)
cols[0].image(image, caption="Your image", width=192)
cols[1].image(grid_image(generate(g, z_star)), caption="Closest generation", width=192)
cols[2].metric("Error (RMS, pixels 0..1)", f"{done['rms']:.4f}", help=f"after {done['steps']} steps")

# --- edit ----------------------------------------------------------------------------------------
st.subheader("Edit")
dirs = explore.directions_picker(ws, ckpt, g, "proj-dirs")
moved = explore.move_along(z_star, dirs, "proj-dir")
edited = grid_image(generate(g, moved))
left, right = st.columns(2)
left.image(edited, caption="Edited", width=192)
right.download_button("Download edited PNG", png(edited), file_name="projected-edited.png", mime="image/png",
                      icon=":material/download:", key="proj-dl-png")

# --- interpolate -----------------------------------------------------------------------------------
st.subheader("Interpolate with a seed")
c1, c2 = st.columns(2)
seed = c1.number_input("To seed", 0, 2**31 - 1, 0, key="proj-seed")
frames_n = c2.slider("Frames", 3, 16, 8, key="proj-frames")
frames = interpolate_latents(g, moved, latents(1, int(seed), g.z_dim), frames_n)
st.image(frames, width=96, caption=[f"{i + 1}" for i in range(len(frames))])
with tempfile.TemporaryDirectory() as tmp:
    save_gif(frames, Path(tmp) / "walk.gif")
    gif = (Path(tmp) / "walk.gif").read_bytes()
st.download_button("Download GIF", gif, file_name=f"projected-to-{seed}.gif", mime="image/gif",
                   icon=":material/gif:", key="proj-dl-gif")
