"""Complete page: a mask painted on the canvas (the component's value handed in as the browser would
send it) is the hole the completion fills; everything outside it is kept."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image
from skimage import data

from app.uploads import drawn_mask, read_image, square
from tests.app.app_helpers import assert_clean, open_page, texts


def png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def canvas_value(rgba: np.ndarray) -> dict:
    """What streamlit-drawable-canvas sends back: the strokes as a PNG data URL (no background)."""
    url = "data:image/png;base64," + base64.b64encode(png_bytes(rgba)).decode()
    return {"drawing": {"raw": {"objects": [{"type": "path"}]}, "data": url}, "backgroundFit": None}


def test_drawn_mask_is_the_hole(monkeypatch, trained_ws):
    face = data.astronaut()[:300, 100:400]
    at = open_page(monkeypatch, trained_ws, "complete.py")
    at.file_uploader(key="upload").upload("face.png", png_bytes(face), "image/png").run()
    at.selectbox(key="mask-kind").set_value("drawn").run()
    assert_clean(at)
    assert "Paint the hole on the image above." in texts(at)  # nothing painted yet: no completion
    strokes = np.zeros((256, 256, 4), np.uint8)
    strokes[64:128, 32:160] = (255, 255, 255, 255)  # a painted bar, in canvas pixels (8x the model's 32)
    at.session_state["mask-canvas"] = canvas_value(strokes)
    at.run()
    assert_clean(at)
    assert [c for img in at.image for c in img.captions] == ["Original", "Masked"]
    at.slider(key="complete-steps").set_value(10)
    at.slider(key="complete-restarts").set_value(1)
    next(b for b in at.button if b.label == "Complete").click().run(timeout=180)
    assert_clean(at)
    c = at.session_state["completion"][-1]  # gan.completion.CompletedImage: (R, R, 3) arrays
    original = np.asarray(square(read_image(png_bytes(face)), 32))
    hole = np.zeros((32, 32), bool)
    hole[8:16, 4:20] = True
    assert np.array_equal(c.composite[~hole], original[~hole])  # known pixels untouched
    assert np.array_equal(c.composite[hole], c.generated[hole])  # the painted bar is G's
    assert not np.array_equal(c.composite[hole], original[hole])


def test_drawn_mask_reads_the_alpha_of_the_strokes():
    assert drawn_mask(None) is None and drawn_mask(np.zeros((8, 8, 4), np.uint8)) is None
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[2:4, 5, 3] = 90  # a faint, semi-transparent stroke still counts
    assert drawn_mask(rgba).tolist() == (rgba[..., 3] > 0).astype(np.uint8).__mul__(255).tolist()
