"""The numpy-facing functions of gan.sampling, gan.latent and gan.completion (what the app's pages
call, so they need no torch): the same numbers as the tensor functions they wrap."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from gan.completion import (
    complete_image,
    hole_mask,
    make_mask,
    masked_image,
)
from gan.errors import GanError
from gan.latent import (
    Directions,
    along,
    edit,
    label_direction,
    move,
    optimise_latents,
    project_image,
    tagged_direction,
)
from gan.sampling import (
    generate,
    grid_image,
    grid_of,
    image_side,
    images_of,
    interpolate_latents,
    latent_batch,
    latents,
    nearest_training_image,
    to_chw,
)
from tests.gan.gan_helpers import varied_generator


@pytest.fixture(scope="module")
def g():
    return varied_generator()


def test_latents_images_and_grids_match_the_tensor_functions(g):
    z = latent_batch(4, 3, g.z_dim, 1.5)
    assert z.dtype == np.float32 and z.shape == (4, g.z_dim)
    assert np.array_equal(z, latents(4, 3, g.z_dim, 1.5).numpy())
    images = images_of(g, z)
    assert images.dtype == np.uint8 and images.shape == (4, 32, 32, 3)
    reference = generate(g, latents(4, 3, g.z_dim, 1.5))
    assert np.array_equal(images, reference.permute(0, 2, 3, 1).numpy())
    assert np.array_equal(np.asarray(grid_of(images)), np.asarray(grid_image(reference)))
    assert np.array_equal(np.asarray(grid_of(images[1])), np.asarray(grid_image(reference[1:2])))
    assert image_side(g) == 32


def test_interpolation_takes_numpy_latents(g):
    za, zb = latent_batch(1, 1, g.z_dim), latent_batch(1, 2, g.z_dim)
    frames = interpolate_latents(g, za, zb, 4)
    same = interpolate_latents(g, torch.from_numpy(za), torch.from_numpy(zb), 4)
    assert [np.asarray(f).tolist() for f in frames] == [np.asarray(f).tolist() for f in same]


def test_to_chw_takes_pil_and_arrays():
    rgb = np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3)
    assert to_chw(rgb).shape == (3, 4, 4) and to_chw(rgb)[2, 1, 0] == rgb[1, 0, 2]
    grey = to_chw(Image.fromarray(np.full((4, 4), 9, np.uint8)))  # converted to RGB
    assert grey.shape == (3, 4, 4) and int(grey.max()) == 9


def test_nearest_training_image_finds_the_copy(g):
    reals = generate(g, latents(6, 5, g.z_dim))  # uint8 (N, 3, R, R), as gan.data loads them
    sample = reals[4].permute(1, 2, 0).numpy()
    real, rms = nearest_training_image(sample, reals)
    assert np.array_equal(real, sample) and rms == pytest.approx(0.0, abs=1e-6)


def test_directions_length_and_variance():
    dirs = Directions(torch.eye(3, 5), torch.tensor([0.5, float("nan"), 0.25]), ["a"])
    assert len(dirs) == 3
    assert dirs.variance(0) == 0.5 and dirs.variance(1) is None
    assert dirs.name(0) == "a" and dirs.name(2) == "PC 3"


def test_move_and_along_are_successive_edits():
    dirs = Directions(torch.eye(3, 5), torch.full((3,), float("nan")))
    z = latent_batch(1, 0, 5)
    assert np.array_equal(move(z, dirs, [0.0, 0.0]), z)
    moved = move(z, dirs, [1.5, 0.0, -2.0])
    expected = edit(edit(torch.from_numpy(z), dirs.directions[0], [1.5]), dirs.directions[2], [-2.0])
    assert moved.shape == (1, 5) and np.array_equal(moved, expected.numpy())
    assert np.allclose(moved - z, [[1.5, 0, -2.0, 0, 0]])
    assert np.array_equal(along(z, np.eye(5, dtype=np.float32)[1], 0.5),
                          edit(torch.from_numpy(z), torch.eye(5)[1], [0.5]).numpy())
    with pytest.raises(GanError):
        move(z, dirs, [1.0] * 4)


def test_tagged_direction_is_the_label_direction():
    z = latent_batch(6, 2, 8)
    labels = torch.tensor([True, False, True, False, False, False])
    d = tagged_direction(z, [0, 2])
    assert np.allclose(d, label_direction(torch.from_numpy(z), labels).numpy())
    assert np.linalg.norm(d) == pytest.approx(1.0, abs=1e-5)
    for tagged in ([], range(6)):
        with pytest.raises(GanError):
            tagged_direction(z, tagged)


def test_project_image_reports_its_pixel_error(g):
    target = images_of(g, latent_batch(1, 42, g.z_dim))[0]
    p = project_image(g, Image.fromarray(target), steps=5, restarts=1)
    assert isinstance(p.z, np.ndarray) and p.z.shape == (1, g.z_dim)
    found = images_of(g, p.z)[0].astype(float)
    assert p.rms == pytest.approx(np.sqrt((((found - target) / 255) ** 2).mean()), abs=1e-6)


def test_optimise_latents_reports_each_step(g):
    seen = []
    optimise_latents(g, lambda z: z.pow(2).sum(1), steps=4, restarts=2, lr=0.1, seed=0, on_step=seen.append)
    assert seen == [1, 2, 3, 4]


def test_complete_image_keeps_known_pixels_and_reports_progress(g):
    image = images_of(g, latent_batch(1, 9, g.z_dim))[0]
    hole = hole_mask("centre", 32)
    assert hole.dtype == bool and np.array_equal(hole, make_mask("centre", 32).numpy())
    masked = masked_image(image, hole)
    assert (masked[hole] == 128).all() and np.array_equal(masked[~hole], image[~hole])
    seen = []
    c = complete_image(g, None, Image.fromarray(image), hole, steps=3, restarts=1, blend="alpha",
                       on_step=seen.append)
    assert seen == [1, 2, 3]
    for arr in (c.generated, c.composite, c.blended):
        assert arr.dtype == np.uint8 and arr.shape == (32, 32, 3)
    assert np.array_equal(c.composite[~hole], image[~hole])
    assert np.array_equal(c.composite[hole], c.generated[hole])
    assert isinstance(c.loss, float)
