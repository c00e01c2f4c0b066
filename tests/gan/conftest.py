"""Fixtures of the gan tests: a small folder of real and generated images, a tiny finished run."""

from __future__ import annotations

import os

import pytest

from tests.gan.gan_helpers import make_images, tiny


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """The image caches go to a temp folder, never the real user cache dir (subprocesses too)."""
    old = os.environ.get("GAN_STUDIO_CACHE_DIR")
    os.environ["GAN_STUDIO_CACHE_DIR"] = str(tmp_path_factory.mktemp("gan-cache"))
    yield
    if old is None:
        os.environ.pop("GAN_STUDIO_CACHE_DIR", None)
    else:
        os.environ["GAN_STUDIO_CACHE_DIR"] = old


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
