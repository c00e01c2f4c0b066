"""Complete and Project give their result back: the output size said, a PNG download (Complete:
at the model's size or the input's), and Project's optimisation as a progress bar."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from skimage import data

from app.uploads import at_input_size
from tests.app.app_helpers import assert_clean, open_page, texts


def png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def downloads(at) -> dict[str, object]:
    return {e.proto.label: e for e in at.get("download_button")}


def test_at_input_size_keeps_the_known_pixels_and_fills_the_hole():
    original = Image.fromarray(data.astronaut()[:256, :256])
    result = np.zeros((32, 32, 3), np.uint8)
    hole = np.zeros((32, 32), bool)
    hole[8:24, 8:24] = True
    out = at_input_size(original, result, hole)
    assert out.shape == (256, 256, 3)
    assert (out[:32, :32] == np.asarray(original)[:32, :32]).all()  # far from the hole: as given
    assert (out[100:156, 100:156] == 0).all()  # inside the hole: the (upscaled) completion


def test_complete_says_its_size_and_downloads_at_either(monkeypatch, trained_ws):
    at = open_page(monkeypatch, trained_ws, "complete.py")
    at.file_uploader(key="upload").upload("face.png", png(data.astronaut()[:300, 100:400]),
                                          "image/png").run()
    at.slider(key="complete-steps").set_value(10)
    at.slider(key="complete-restarts").set_value(1)
    next(b for b in at.button if b.label == "Complete").click().run(timeout=120)
    assert_clean(at)
    assert "The model completes at its own resolution, 32×32 px; your image is 300×300 px" in texts(at)
    assert [p.proto.text for p in at.get("progress")] == ["Completing: done"]
    assert "Download PNG" in downloads(at)
    sizes = at.radio(key="complete-size")
    assert [o.split(" ")[0] for o in sizes.options] == ["32×32", "300×300"]
    sizes.set_value(sizes.options[1]).run()
    assert_clean(at)
    assert "Download PNG" in downloads(at)


def test_project_downloads_the_closest_generation_and_says_its_size(monkeypatch, trained_ws):
    from gan.sampling import generate, latents, load_generator

    g, _ = load_generator(trained_ws / "models" / "current.json")
    target = generate(g, latents(1, 7, g.z_dim))[0].permute(1, 2, 0).numpy()
    at = open_page(monkeypatch, trained_ws, "project.py")
    at.file_uploader(key="project-upload").upload("me.png", png(target), "image/png").run()
    at.slider(key="project-steps").set_value(20)
    at.slider(key="project-restarts").set_value(1)
    next(b for b in at.button if b.label == "Project").click().run(timeout=180)
    assert_clean(at)
    assert "The model generates at its own resolution, 32×32 px" in texts(at)
    assert {"Download closest PNG", "Download edited PNG"} <= set(downloads(at))
    assert [p.proto.text for p in at.get("progress")] == ["Optimising 1 latent(s): done"]
