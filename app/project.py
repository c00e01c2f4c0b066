"""Project: find your own face in the generator's latent space, then edit and interpolate it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import streamlit as st

from app import common, pickers, uploads
from studio.workspace import Workspace

# gan's torch-backed modules (sampling, latent) are imported inside the functions, which run only
# once pick_model found a model: an empty workspace gets its "start here" box at once.


def render() -> None:
    ws = common.workspace()
    st.title("Project")
    st.caption("Upload a face: the optimiser looks for the latent whose generation is closest to it "
               "(pixels + the discriminator's features); then edit it with the directions or walk to a seed.")
    ckpt = pickers.pick_model(ws, key="project-model")
    from gan.sampling import grid_of, images_of

    g, d, side = common.generator(ckpt), common.discriminator(ckpt), common.resolution(ckpt)
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
    done = projection(g, d, image, (str(ckpt), hashlib.sha256(up.getvalue()).hexdigest()))
    closest = grid_of(images_of(g, done["z"]))
    cols = st.columns(3)
    cols[0].image(image, caption="Your image", width=192)
    cols[1].image(closest, caption="Closest generation", width=192)
    cols[2].metric("Error (RMS, pixels 0..1)", f"{done['rms']:.4f}", help=f"after {done['steps']} steps")
    cols[2].download_button("Download closest PNG", common.png_bytes(closest),
                            file_name=f"projected-{side}px.png", mime="image/png",
                            icon=":material/download:", key="proj-dl-closest")
    st.caption(f"The model generates at its own resolution, {side}×{side} px: your image was "
               f"cut to its centre square and scaled to that to compare, and every image below "
               f"(and each download) is {side}×{side} px.")
    moved = edit(ws, ckpt, g, done["z"])
    walk(g, moved)


def projection(g, d, image, key: tuple[str, str]) -> dict:
    """The projection of this image by this model (kept in the session; made on *Project*); the
    page stops until there is one."""
    from gan.latent import project_image

    c1, c2 = st.columns(2)
    steps = c1.slider("Steps", 10, 1000, 200, 10, key="project-steps")
    restarts = c2.slider("Restarts", 1, 8, 4, key="project-restarts")
    if st.button("Project", type="primary", icon=":material/center_focus_strong:"):
        p = common.with_progress(
            lambda on_step: project_image(g, image, d, steps=steps, restarts=restarts,
                                          on_step=on_step),
            steps, f"Optimising {restarts} latent(s)")
        st.session_state.projection = {"key": key, "z": p.z, "rms": p.rms, "steps": steps}
    done = st.session_state.get("projection")
    if done is None or done["key"] != key:
        st.image(image, caption="Your image", width=192)
        st.info("Press Project to find the closest generation.")
        st.stop()
    return done


def edit(ws: Workspace, ckpt: Path, g, z_star: np.ndarray) -> np.ndarray:
    """The projected latent moved along the chosen directions, shown with a PNG download."""
    from gan.sampling import grid_of, images_of

    st.subheader("Edit")
    dirs = pickers.pick_directions(ws, ckpt, g, "proj-dirs")
    moved = pickers.move_along(z_star, dirs, "proj-dir")
    edited = grid_of(images_of(g, moved))
    left, right = st.columns(2)
    left.image(edited, caption="Edited", width=192)
    right.download_button("Download edited PNG", common.png_bytes(edited), file_name="projected-edited.png",
                          mime="image/png", icon=":material/download:", key="proj-dl-png")
    return moved


def walk(g, z: np.ndarray) -> None:
    """Frames from the (edited) projection to a seed's image, and their GIF."""
    from gan.sampling import interpolate_latents, latent_batch

    st.subheader("Interpolate with a seed")
    c1, c2 = st.columns(2)
    seed = c1.number_input("To seed", 0, 2**31 - 1, 0, key="proj-seed")
    frames_n = c2.slider("Frames", 3, 16, 8, key="proj-frames")
    frames = interpolate_latents(g, z, latent_batch(1, int(seed), g.z_dim), frames_n)
    st.image(frames, width=96, caption=[f"{i + 1}" for i in range(len(frames))])
    st.download_button("Download GIF", common.gif_bytes(frames), file_name=f"projected-to-{seed}.gif",
                       mime="image/gif", icon=":material/gif:", key="proj-dl-gif")


render()
