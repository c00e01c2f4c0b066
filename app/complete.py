"""Complete: fill a hole in a face with the generator's best guess (Yeh et al. 2017)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from app import catalog, common, uploads
from studio.models import current_checkpoint

ws = common.workspace()
st.title("Complete")

ckpt = current_checkpoint(ws)
if ckpt is None:
    from app import data
    from gan.checkpoint import resolve_checkpoint
    from gan.errors import GanError

    for run in data.list_runs(ws):
        try:
            ckpt = resolve_checkpoint(run.path)
            break
        except GanError:
            continue
if ckpt is None:
    common.start_here("model", ws)
    st.stop()

from gan.completion import MASK_KINDS, complete, make_mask  # noqa: E402

g = common.generator(ckpt)
d = common.discriminator(ckpt)
side = common.resolution(ckpt)
st.caption(f"Model `{ckpt.parents[1].name}/{ckpt.name}` · {side}×{side} px")

# --- the image -------------------------------------------------------------------------------------
source = st.radio("Image", ["Upload", "A crop from the catalog"], horizontal=True, key="source")
image = None
if source == "Upload":
    up = st.file_uploader("PNG, JPEG or WebP, up to 10 MB", type=["png", "jpg", "jpeg", "webp"],
                          key="upload")
    if up is not None:
        try:
            image = uploads.square(uploads.read_image(up.getvalue()), side)
        except uploads.UploadError as exc:
            st.error(f"Cannot use this file: {exc}.")
elif not catalog.has_catalog(ws) or not len(ds := catalog.dataset(ws)):
    common.start_here("curate", ws)
else:
    rows = catalog.page_of(catalog.filtered(ds, catalog.Filters(decision="accepted")), 0, 24)
    if not rows:
        st.info("No accepted crops yet.")
    else:
        pick = st.selectbox("Crop", range(len(rows)), format_func=lambda i: f"{rows[i]['domain']} · {rows[i]['sha256'][:12]}")
        image = uploads.square(uploads.read_image(Path(rows[pick]["filepath"]).read_bytes()), side)

if image is None:
    st.info("Choose an image to complete.")
    st.stop()

# --- the mask and the run --------------------------------------------------------------------------
c1, c2, c3, c4 = st.columns(4)
kind = c1.selectbox("Mask", [*MASK_KINDS, "drawn"], key="mask-kind",
                    help="custom = an uploaded mask image; drawn = paint the hole on the image.")
steps = c2.slider("Steps", 10, 1000, 200, 10, key="complete-steps")
restarts = c3.slider("Restarts", 1, 8, 4, key="complete-restarts")
blend = c4.selectbox("Blend", ["poisson", "alpha", "none"])
custom = None
if kind == "custom":
    mask_file = st.file_uploader("Mask image: white = missing", type=["png", "jpg", "jpeg", "webp"], key="mask")
    if mask_file is None:
        st.info("Upload a mask image (white where pixels are missing), or pick another kind.")
        st.stop()
    try:
        custom = uploads.read_image(mask_file.getvalue())
    except uploads.UploadError as exc:
        st.error(f"Cannot use this mask: {exc}.")
        st.stop()
if kind == "drawn":
    from streamlit_drawable_canvas import st_canvas

    st.caption("Paint over the pixels to replace (any colour); the completion fills what you paint.")
    canvas = st_canvas(stroke_width=st.slider("Brush", 2, 40, 16, key="mask-brush"), stroke_color="#ffffff",
                       background_image=image.resize((256, 256)), drawing_mode="freedraw", height=256, width=256,
                       return_image_data=True, key="mask-canvas")
    custom = uploads.drawn_mask(canvas.image_data)
    if custom is None:
        st.info("Paint the hole on the image above.")
        st.stop()
hole = make_mask("custom" if kind == "drawn" else kind, side, seed=0, custom=custom)
pixels = torch.from_numpy(np.array(image)).permute(2, 0, 1).contiguous()  # (3, R, R) uint8
masked = torch.where(hole, torch.full_like(pixels, 128), pixels)

if st.button("Complete", type="primary", icon=":material/healing:"):
    calls = [0]

    class Counting(torch.nn.Module):
        """G that counts its calls: one per optimisation step, so the bar shows real progress."""

        def __init__(self, inner):
            super().__init__()
            self.inner, self.z_dim = inner, inner.z_dim

        def forward(self, z):
            calls[0] += 1
            return self.inner(z)

    result: dict = {}

    def work() -> None:
        try:
            result["done"] = complete(Counting(g), d, pixels, hole, steps=steps, restarts=restarts,
                                      blend=blend)
        except Exception as exc:  # shown in the page below
            result["error"] = exc

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    bar = st.progress(0.0, text="Completing…")
    while thread.is_alive():
        bar.progress(min(1.0, calls[0] / steps), text=f"step {min(calls[0], steps)} of {steps}")
        time.sleep(0.2)
    bar.progress(1.0, text="Done")
    if "error" in result:
        raise result["error"]
    st.session_state.completion = (kind, steps, restarts, blend, result["done"])

done = st.session_state.get("completion")
to_image = lambda t: t.permute(1, 2, 0).numpy()  # noqa: E731
cols = st.columns(4)
cols[0].image(to_image(pixels), caption="Original", width=192)
cols[1].image(to_image(masked), caption="Masked", width=192)
if done is not None and done[0] == kind:
    c = done[-1]
    cols[2].image(to_image(c.composite), caption="Completed", width=192)
    cols[3].image(to_image(c.blended), caption=f"Blended ({done[3]})", width=192)
    st.caption(f"Final loss {c.loss:.3f}")
