import json

import numpy as np
import pytest
import torch
from PIL import Image

from gan.completion import MASK_KINDS, complete, make_mask
from gan.latent import edit, label_direction, pca_directions, project
from gan.sampling import (
    generate,
    interpolate,
    latents,
    load_discriminator,
    load_generator,
    sample_grid,
    save_gif,
)
from tests.gan.gan_helpers import varied_generator
from tests.helpers import studio, studio_in_process


def test_sample_is_deterministic(trained_run):
    g, cfg = load_generator(trained_run.run_dir)
    a = np.asarray(sample_grid(g, 9, seed=3, truncation=1.0))
    b = np.asarray(sample_grid(load_generator(trained_run.checkpoint)[0], 9, seed=3, truncation=1.0))
    assert a.shape == (3 * 34 + 2, 3 * 34 + 2, 3) and (a == b).all()
    assert not (a == np.asarray(sample_grid(g, 9, seed=4))).all()
    z = latents(100, 0, cfg.z_dim, truncation=0.5)
    assert z.abs().max() <= 0.5 and z.std() > 0.2


def test_interpolation_strip_and_gif(trained_run, tmp_path):
    g, _ = load_generator(trained_run.run_dir)
    frames = interpolate(g, 1, 2, steps=5)
    assert len(frames) == 5 and frames[0].size == (32, 32)
    assert np.array_equal(np.asarray(frames[0]), np.asarray(interpolate(g, 1, 9, steps=3)[0]))
    save_gif(frames, tmp_path / "a.gif")
    assert Image.open(tmp_path / "a.gif").n_frames == 8  # there and back


def _mse(a, b):
    return ((a.float() - b.float()) / 127.5).pow(2).mean().item()  # in [-1, 1] units, as the loss


@pytest.mark.slow
def test_projection_recovers_a_generated_image(trained_run):
    g = varied_generator()
    d = load_discriminator(trained_run.run_dir)  # D's features join the loss (same 32 px)
    z_star = latents(1, 42, g.z_dim)
    target = generate(g, z_star)[0]  # reachable: G(z*) for a z* the projection is not told
    others = generate(g, latents(8, 7, g.z_dim))
    baseline = min(_mse(im, target) for im in others)  # how far an arbitrary z lands
    p = project(g, target, d, steps=100, restarts=3, lr=0.05)
    assert p.image.shape == (3, 32, 32) and p.z.shape == (1, g.z_dim)
    assert p.history[-1] < 0.01 * p.history[0]  # the loss falls by orders of magnitude
    assert _mse(p.image, target) < 0.01 * baseline  # G(z) is far closer to the target than a random z's image
    assert (p.z - z_star).norm() < 0.25 * z_star.norm()  # and z itself is (nearly) z*


@pytest.mark.parametrize("kind", MASK_KINDS)
def test_masks(kind):
    custom = np.zeros((10, 10), np.uint8)
    custom[2:5, 2:5] = 255
    m = make_mask(kind, 32, seed=1, custom=custom if kind == "custom" else None)
    assert m.shape == (32, 32) and m.dtype == torch.bool and 0 < m.float().mean() < 1


@pytest.mark.slow
def test_completion_fills_the_hole_with_the_truth(trained_run):
    g = varied_generator()
    d = load_discriminator(trained_run.run_dir)
    truth = generate(g, latents(1, 5, g.z_dim))[0]  # a generated face: the hole's truth is known
    hole = make_mask("centre", 32)
    image = truth.clone()
    image[:, hole] = 0  # damage the centre: nothing of the truth is left there

    def hole_error(im):
        return (im.float() - truth.float())[:, hole].abs().mean().item()

    start = complete(g, d, image, hole, steps=0, restarts=2, blend="none")  # the initial guess
    c = complete(g, d, image, hole, steps=150, restarts=2)
    assert torch.equal(c.composite[:, ~hole], image[:, ~hole])  # known pixels untouched
    assert hole_error(c.composite) < 0.2 * hole_error(start.composite)  # the context led to the truth
    assert c.history[-1] < 0.1 * c.history[0]
    assert c.blended.shape == image.shape and c.blended.dtype == torch.uint8
    assert hole_error(c.blended) < hole_error(start.composite)


def test_pca_and_label_directions(trained_run):
    g, _ = load_generator(trained_run.run_dir)
    dirs = pca_directions(g, n=300, k=4)
    assert dirs.directions.shape == (4, g.z_dim)
    assert torch.allclose(dirs.directions.norm(dim=1), torch.ones(4), atol=1e-4)
    assert (dirs.explained_variance[:-1] >= dirs.explained_variance[1:]).all()
    z = latents(50, 0, g.z_dim)
    labels = z[:, 0] > 0
    u = label_direction(z, labels)
    assert u[0] > 0.5  # the labelled axis dominates
    assert edit(z[0], u, [-1.0, 0.0, 1.0]).shape == (3, g.z_dim)


def test_cli_train_refuses_bad_data_in_one_line(image_dir, tmp_path):
    """`studio train`'s refusals and dry run, in-process: nothing trains, nothing is created."""
    ws = tmp_path / "ws"
    assert studio_in_process("init", "--workspace", ws).returncode == 0
    r = studio_in_process("train", "--workspace", ws, "--data", tmp_path / "nothing")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--data" in r.stderr
    (tmp_path / "empty").mkdir()
    r = studio_in_process("train", "--workspace", ws, "--data", tmp_path / "empty")
    assert r.returncode == 2 and "no images" in r.stderr
    r = studio_in_process("train", "--workspace", ws, "--data", image_dir, "--resolution", "32", "--dry-run")
    assert r.returncode == 0 and json.loads(r.stdout)["config"]["resolution"] == 32
    assert not (ws / "runs").exists()  # a dry run creates nothing


@pytest.mark.cli
def test_cli_train_then_sample(image_dir, tmp_path):
    ws = tmp_path / "ws"
    assert studio_in_process("init", "--workspace", ws).returncode == 0
    flags = ["--resolution", "32", "--steps", "2", "--batch", "4", "--g-width", "4", "--d-width", "4",
             "--log-every", "1", "--metric-images", "16", "--device", "cpu"]
    r = studio("train", "--workspace", ws, "--data", image_dir, *flags)
    assert r.returncode == 0, r.stderr
    run = ws / "runs" / f"00000-{image_dir.name}-r32"
    assert (run / "checkpoints" / "step-0000002").is_dir()
    r = studio("train", "--workspace", ws, "--resume", run, "--steps", "3")
    assert r.returncode == 0, r.stderr
    assert (run / "checkpoints" / "step-0000003").is_dir()
    out = tmp_path / "grid.png"
    grids = []
    for _ in range(2):
        assert studio("sample", "--workspace", ws, "--run", run.name, "--n", "4", "--seed", "1", "--out", out).returncode == 0
        grids.append(out.read_bytes())
    assert grids[0] == grids[1]
    r = studio_in_process("sample", "--workspace", ws, "--out", out)
    assert r.returncode == 2 and "promoted" in r.stderr
    (ws / "models").mkdir()
    (ws / "models" / "current.json").write_text(json.dumps({"run": f"runs/{run.name}", "checkpoint": "checkpoints/step-0000003"}))
    r = studio("sample", "--workspace", ws, "--n", "4", "--seed", "1", "--out", tmp_path / "cur.png")
    assert r.returncode == 0, r.stderr
