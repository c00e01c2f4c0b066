"""`studio project`, `studio complete` and `studio directions --kind pca` on a really trained tiny model."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.helpers import ONE_THREAD, studio, studio_in_process


@pytest.fixture(scope="module")
def ws(trained_ws, tmp_path_factory):
    """A copy of the suite's tiny trained workspace (its promoted model: a 32 px run of 20 real
    CPU steps), with the astronaut photo in images/: the commands write directions into it."""
    from skimage import data

    root = shutil.copytree(trained_ws, tmp_path_factory.mktemp("latent") / "ws")
    (root / "images").mkdir()
    Image.fromarray(data.astronaut()).save(root / "images" / "astronaut.jpg", quality=90)
    return root


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="module")
def face(ws):
    """The astronaut photo, squared to the model's 32 px the way the commands square it."""
    from curation.files import read_upload, square

    path = ws / "images" / "astronaut.jpg"
    return path, np.asarray(square(read_upload(path.read_bytes()), 32))


@pytest.mark.cli
def test_project_writes_the_closest_generation_and_its_error(ws, face, tmp_path):
    from gan.sampling import generate, latents, load_generator

    image, target = face
    r = studio("project", str(image), "--out", str(tmp_path / "p.png"), "--latent", str(tmp_path / "z.json"),
               "--steps", "40", "--restarts", "2", "-w", str(ws), env=ONE_THREAD)
    assert r.returncode == 0, r.stderr
    out = pixels(tmp_path / "p.png")
    assert out.shape == (32, 32, 3)
    rms = float(np.sqrt((((out.astype(float) - target) / 255) ** 2).mean()))
    said = float(r.stdout.split("RMS error ")[1].split()[0])
    assert said == pytest.approx(rms, abs=2e-4)  # the printed error is the written image's
    g, _ = load_generator(ws / "models" / "current.json")
    start = generate(g, latents(2, 0, g.z_dim)).permute(0, 2, 3, 1).float().numpy()
    start_rms = np.sqrt((((start - target) / 255) ** 2).mean(axis=(1, 2, 3))).min()
    assert rms < start_rms  # the optimisation moved toward the image
    z = torch.tensor(__import__("json").loads((tmp_path / "z.json").read_text())["z"])
    regen = generate(g, z[None])[0].permute(1, 2, 0).numpy()
    assert np.array_equal(regen, out)  # the saved latent reproduces the written image


@pytest.mark.cli
@pytest.mark.parametrize("mask", ["center", "left", "file"])
def test_complete_keeps_known_pixels_and_fills_the_hole(mask, ws, face, tmp_path):
    image, original = face
    hole = np.zeros((32, 32), bool)
    if mask == "file":  # a drawn mask at another size: white = missing
        drawn = np.zeros((96, 96), np.uint8)
        drawn[30:70, 10:50] = 255
        Image.fromarray(drawn).save(tmp_path / "mask.png")
        hole[10:23, 3:17] = True  # well inside the scaled rectangle
        arg = str(tmp_path / "mask.png")
    else:
        hole[8:24, 8:24] = mask == "center"
        hole[:, :16] |= mask == "left"
        arg = mask
    r = studio("complete", str(image), "--mask", arg, "--out", str(tmp_path / "c.png"), "--steps", "20",
               "--restarts", "1", "-w", str(ws), env=ONE_THREAD)
    assert r.returncode == 0, r.stderr
    out = pixels(tmp_path / "c.png")
    edge = np.zeros_like(hole)  # a mask file's edge pixels depend on the resampling: compare away from it
    if mask == "file":
        edge[9:25, 2:18] = True
        edge &= ~hole
    known = ~hole & ~edge if mask == "file" else ~hole
    assert np.array_equal(out[known], original[known])
    assert np.abs(out[hole].astype(int) - original[hole]).mean() > 5  # the hole holds G's guess
    assert r.stdout.startswith(f"completed {image} (")


def test_complete_refuses_an_unknown_mask_in_one_line(ws, face, tmp_path):
    r = studio_in_process("complete", str(face[0]), "--mask", "middle", "--out", str(tmp_path / "c.png"), "-w", str(ws))
    assert r.returncode == 2 and not (tmp_path / "c.png").exists()
    assert r.stderr.strip().splitlines() == [
        "studio: error: --mask middle: neither a mask kind (centre, left, right, random, pattern, center) "
        "nor an image file"]


def test_project_refuses_a_fake_image_in_one_line(ws, tmp_path):
    (tmp_path / "x.png").write_bytes(b"<html>not an image</html>")
    r = studio_in_process("project", str(tmp_path / "x.png"), "--out", str(tmp_path / "p.png"), "-w", str(ws))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "not a readable image" in r.stderr
    assert f"IMAGE {tmp_path / 'x.png'}:" in r.stderr and "BytesIO" not in r.stderr  # the file, not Pillow's buffer


@pytest.mark.cli
def test_pca_directions_are_saved_and_reload(ws, tmp_path):
    from gan.latent import load_directions, pca_directions
    from gan.sampling import load_generator

    r = studio("directions", "--kind", "pca", "--k", "4", "--samples", "300", "-w", str(ws), env=ONE_THREAD)
    assert r.returncode == 0, r.stderr
    path = ws / "directions" / "pca.json"  # the default place, where the app looks
    assert r.stdout.strip() == f"wrote 4 pca directions (PC 1, PC 2, PC 3, PC 4) to {path}"
    dirs = load_directions(path, z_dim=16)
    g, _ = load_generator(ws / "models" / "current.json")
    again = pca_directions(g, n=300, k=4)
    cos = (dirs.directions * again.directions).sum(1).abs()  # SVD signs and float sums vary with threads
    assert (cos > 0.99).all(), cos  # what was computed, not noise
    assert dirs.meta["kind"] == "pca" and dirs.meta["checkpoint"].endswith("step-0000020")
    with pytest.raises(Exception, match="z size 16"):
        load_directions(path, z_dim=100)
