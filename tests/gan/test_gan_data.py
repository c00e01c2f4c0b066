import shutil

import torch

from gan.data import DeviceSampler, image_cache_dir, load_images
from tests.gan.gan_helpers import make_images


def test_cache_built_once_and_keyed_by_content(tmp_path):
    make_images(tmp_path, n=6)
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    logs = []
    first = load_images(tmp_path, 32, logs.append)
    assert first.images.shape == (9, 3, 32, 32) and first.images.dtype == torch.uint8
    assert first.skipped == 1 and any("skipped 1" in m for m in logs)
    assert first.cache is not None and first.cache.parent == image_cache_dir(tmp_path)
    logs.clear()
    again = load_images(tmp_path, 32, logs.append)
    assert logs == [] and torch.equal(again.images, first.images)  # no decoding the second time
    shutil.copy(tmp_path / "astronaut.jpg", tmp_path / "shapes" / "extra.jpg")
    grown = load_images(tmp_path, 32, logs.append)
    assert len(grown.images) == 10 and any("decoding" in m for m in logs)
    assert len(list(image_cache_dir(tmp_path).glob("*.npy"))) == 1  # the stale cache is gone
    assert not any(p.suffix == ".npy" for p in tmp_path.rglob("*"))  # nothing written into the data


def test_sampler_range_and_flips():
    imgs = torch.zeros(2, 3, 8, 8, dtype=torch.uint8)
    imgs[:, :, :, :4] = 255  # left half white
    s = DeviceSampler(imgs, torch.device("cpu"), False, seed=0)
    x = s.sample(64)
    assert x.min() == -1 and x.max() == 1
    left_white = (x[:, 0, 0, 0] == 1).float().mean().item()
    assert 0.2 < left_white < 0.8  # about half mirrored


def test_damaged_cache_is_rebuilt_not_fatal(tmp_path):
    make_images(tmp_path, n=3)
    first = load_images(tmp_path, 16, lambda m: None)
    meta = first.cache.with_suffix(".json")
    for damage in ('{"skipped": 0, "ima', '["not", "an", "object"]', '{"skipped": "x", "images": 6}'):
        meta.write_text(damage)  # a torn or foreign meta file
        logs = []
        again = load_images(tmp_path, 16, logs.append)
        assert torch.equal(again.images, first.images) and again.skipped == first.skipped
        assert any("damaged" in m for m in logs) and any("decoding" in m for m in logs)
        assert load_images(tmp_path, 16, logs.append).cache == again.cache  # and whole again
    first.cache.write_bytes(first.cache.read_bytes()[:100])  # a torn array
    logs = []
    assert torch.equal(load_images(tmp_path, 16, logs.append).images, first.images)
    assert any("damaged" in m for m in logs)
    assert not list(image_cache_dir(tmp_path).glob(".*"))  # no temp files left behind
