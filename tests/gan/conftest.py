"""Fixtures of the gan tests: a small folder of real and generated images, a tiny finished run."""

from __future__ import annotations

import pytest

from tests.gan.gan_helpers import make_images, tiny


@pytest.fixture(scope="session")
def image_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    make_images(folder)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return folder


@pytest.fixture(scope="session")
def trained_run(image_dir, tmp_path_factory):
    """One tiny finished run shared by the sampling tests."""
    from gan.train import train

    out = tmp_path_factory.mktemp("runs") / "run"
    result = train(tiny(steps=6, augment="translation,cutout,color"), image_dir, out, log=lambda m: None)
    return result
