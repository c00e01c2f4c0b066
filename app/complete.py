"""Complete: fill a hole in a face with the generator's best guess (Yeh et al. 2017)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image
from streamlit_drawable_canvas import st_canvas

from app import catalog_view, common, pickers, uploads
from curation.catalog import CropFilters, filter_crops
from studio.workspace import Workspace

# gan.completion (torch) is imported inside the functions, which run only once pick_model found a
# model: an empty workspace gets its "start here" box at once.


def render() -> None:
    ws = common.workspace()
    st.title("Complete")
    ckpt = pickers.pick_model(ws, choose=False)  # the promoted model, else the first run's
    from gan.completion import hole_mask

    g, d, side = common.generator(ckpt), common.discriminator(ckpt), common.resolution(ckpt)
    st.caption(f"Model `{ckpt.parents[1].name}/{ckpt.name}` · {side}×{side} px")
    image = choose_image(ws, side)
    if image is None:
        st.info("Choose an image to complete.")
        st.stop()
    kind, steps, restarts, blend, custom = mask_settings(image)
    hole = hole_mask("custom" if kind == "drawn" else kind, side, seed=0, custom=custom)
    if st.button("Complete", type="primary", icon=":material/healing:"):
        done = run_completion(g, d, image, hole, steps, restarts, blend)
        st.session_state.completion = (kind, steps, restarts, blend, done)
        st.session_state.completion_original = st.session_state.get("complete_original")
    show(image, hole, kind)


MAX_OUTPUT = 2048  # the largest side a completion is given back at


def original_square(im: Image.Image) -> Image.Image:
    """The input's centre square at its own size (at most MAX_OUTPUT): what the model's input
    was made from, kept for the download at the input's size."""
    s = min(im.size)
    left, top = (im.width - s) // 2, (im.height - s) // 2
    square = im.crop((left, top, left + s, top + s))
    if s > MAX_OUTPUT:
        square = square.resize((MAX_OUTPUT, MAX_OUTPUT), Image.Resampling.LANCZOS)
    st.session_state.complete_original = square
    return square


def choose_image(ws: Workspace, side: int) -> Image.Image | None:
    """An uploaded image or an accepted crop, squared to the model's side; None until chosen."""
    source = st.radio("Image", ["Upload", "A crop from the catalog"], horizontal=True, key="source")
    if source == "Upload":
        up = st.file_uploader("PNG, JPEG or WebP, up to 10 MB", type=["png", "jpg", "jpeg", "webp"],
                              key="upload")
        if up is not None:
            try:
                return uploads.square(original_square(uploads.read_image(up.getvalue())), side)
            except uploads.UploadError as exc:
                st.error(f"Cannot use this file: {exc}.")
        return None
    if not catalog_view.has_catalog(ws) or not len(ds := catalog_view.dataset(ws)):
        common.start_here("curate", ws)
        return None
    rows = catalog_view.page_of(filter_crops(ds, CropFilters(decision="accepted")), 0, 24)
    if not rows:
        st.info("No accepted crops yet.")
        return None
    pick = st.selectbox("Crop", range(len(rows)), format_func=lambda i: f"{rows[i]['domain']} · {rows[i]['sha256'][:12]}")
    return uploads.square(original_square(uploads.read_image(Path(rows[pick]["filepath"]).read_bytes())),
                          side)


def mask_settings(image: Image.Image) -> tuple[str, int, int, str, np.ndarray | Image.Image | None]:
    """Mask kind, steps, restarts, blend, and the custom mask (uploaded or drawn) when the kind
    needs one; the page stops until it is given."""
    from gan.completion import MASK_KINDS

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
        st.caption("Paint over the pixels to replace (any colour); the completion fills what you paint.")
        canvas = st_canvas(stroke_width=st.slider("Brush", 2, 40, 16, key="mask-brush"), stroke_color="#ffffff",
                           background_image=image.resize((256, 256)), drawing_mode="freedraw", height=256, width=256,
                           return_image_data=True, key="mask-canvas")
        custom = uploads.drawn_mask(canvas.image_data)
        if custom is None:
            st.info("Paint the hole on the image above.")
            st.stop()
    return kind, steps, restarts, blend, custom


def run_completion(g, d, image: Image.Image, hole: np.ndarray, steps: int, restarts: int, blend: str):
    """The completion in a thread, with a progress bar of its optimisation steps."""
    from gan.completion import complete_image

    return common.with_progress(
        lambda on_step: complete_image(g, d, image, hole, steps=steps, restarts=restarts,
                                       blend=blend, on_step=on_step), steps, "Completing")


def show(image: Image.Image, hole: np.ndarray, kind: str) -> None:
    """Original and masked, then the last completion made with this mask kind."""
    from gan.completion import masked_image

    done = st.session_state.get("completion")
    cols = st.columns(4)
    cols[0].image(np.asarray(image), caption="Original", width=192)
    cols[1].image(masked_image(image, hole), caption="Masked", width=192)
    if done is not None and done[0] == kind:
        c = done[-1]
        cols[2].image(c.composite, caption="Completed", width=192)
        cols[3].image(c.blended, caption=f"Blended ({done[3]})", width=192)
        download(c, hole)


def download(c, hole: np.ndarray) -> None:
    """The completion's size said, and a PNG download at the model's size or the input's."""
    side = c.blended.shape[0]
    original = st.session_state.get("completion_original")  # the input that was completed
    st.caption(f"Final loss {c.loss:.3f}. The model completes at its own resolution, "
               f"{side}×{side} px" + (f"; your image is {original.width}×{original.width} px "
                                      "(its centre square)." if original is not None else "."))
    sizes = {f"{side}×{side} px (the model's)": None}
    if original is not None and original.width > side:
        sizes[f"{original.width}×{original.width} px (your image's: its own pixels kept, "
              "the hole upscaled)"] = original
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    choice = c1.radio("Download size", list(sizes), key="complete-size", horizontal=True)
    big = sizes[choice]
    out = c.blended if big is None else uploads.at_input_size(big, c.blended, hole)
    c2.download_button("Download PNG", common.png_bytes(Image.fromarray(out)), file_name=f"completed-{out.shape[0]}px.png",
                       mime="image/png", icon=":material/download:", key="complete-dl")


render()
