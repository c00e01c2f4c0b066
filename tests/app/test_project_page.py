"""Project page: upload an image, find its latent, edit it with PCA or saved directions, walk to a seed."""

from __future__ import annotations

import io
import shutil

import numpy as np
import torch
from PIL import Image

from tests.app.app_helpers import assert_clean, open_page


def png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def target_and_start(ws):
    """A generation of the promoted model (so a latent exists that fits it) and the error of the
    optimiser's starting point (restarts=1: seed 0's first latent) to beat."""
    from gan.sampling import generate, latents, load_generator

    g, _ = load_generator(ws / "models" / "current.json")
    target = generate(g, latents(1, 7, g.z_dim))[0]
    start = generate(g, latents(1, 0, g.z_dim))[0]
    rms = float(((start.float() - target.float()) / 255).pow(2).mean().sqrt())
    return target.permute(1, 2, 0).numpy(), rms


def captions(at) -> list[str]:
    return [c for img in at.image for c in img.captions]


def projected(monkeypatch, ws):
    at = open_page(monkeypatch, ws, "project.py")
    assert_clean(at)
    target, start_rms = target_and_start(ws)
    at.file_uploader(key="project-upload").upload("me.png", png_bytes(target), "image/png").run()
    assert_clean(at)
    at.slider(key="project-steps").set_value(30)
    at.slider(key="project-restarts").set_value(1)
    next(b for b in at.button if b.label == "Project").click().run(timeout=180)
    assert_clean(at)
    return at, start_rms


def test_projection_shows_the_closest_generation_edits_and_walks(monkeypatch, trained_ws):
    at, start_rms = projected(monkeypatch, trained_ws)
    assert captions(at)[:3] == ["Your image", "Closest generation", "Edited"]
    rms = float(at.metric[0].value)
    assert 0 <= rms < start_rms  # the optimiser came closer than where it started
    edited = next(img for img in at.image if "Edited" in img.captions).value
    at.slider(key="proj-dir-0").set_value(3.0).run()
    assert_clean(at)
    assert next(img for img in at.image if "Edited" in img.captions).value != edited
    assert float(at.metric[0].value) == rms  # editing does not redo the projection
    at.slider(key="proj-frames").set_value(5).run()
    walk = next(img for img in at.image if img.captions and img.captions[0] == "1")
    assert len(walk.captions) == 5
    assert {b.label for b in at.get("download_button")} == {"Download closest PNG", "Download edited PNG",
                                                          "Download GIF"}


def test_saved_label_directions_reload_in_the_page(monkeypatch, trained_ws, tmp_path):
    from gan.checkpoint import resolve_checkpoint
    from gan.latent import Directions, save_directions

    root = shutil.copytree(trained_ws, tmp_path / "ws")
    ckpt = resolve_checkpoint(root / "models" / "current.json")
    d = torch.zeros(2, 16)
    d[0, 0], d[1, 1] = 1.0, 1.0
    save_directions(root / "directions" / "labels-domain.json",
                    Directions(d, torch.full((2,), float("nan")), ["a.example", "b.example"],
                               {"kind": "labels", "checkpoint": str(ckpt)}))
    at, _ = projected(monkeypatch, root)
    at.selectbox(key="proj-dirs-source").set_value("labels-domain.json").run()
    assert_clean(at)
    assert [s.label for s in at.slider if s.key and s.key.startswith("proj-dir-")] == ["a.example", "b.example"]
    before = next(img for img in at.image if "Edited" in img.captions).value
    at.slider(key="proj-dir-1").set_value(-3.0).run()
    assert next(img for img in at.image if "Edited" in img.captions).value != before


def test_project_page_refuses_a_fake_image(monkeypatch, trained_ws):
    at = open_page(monkeypatch, trained_ws, "project.py")
    at.file_uploader(key="project-upload").upload("me.png", b"<html>no</html>", "image/png").run()
    assert not at.exception
    assert "Cannot use this file: not a readable image" in at.error[0].value
