import torch

from gan.metrics import fid_kid, memorization, swd


def _images(seed, n=64, smooth=True):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, 8, 8, generator=g)
    if smooth:
        x = torch.nn.functional.interpolate(x, size=32, mode="bilinear")
    else:
        x = torch.nn.functional.interpolate(x, size=32, mode="nearest") + 0.3 * torch.rand(n, 3, 32, 32, generator=g)
    return (x.clamp(0, 1) * 255).to(torch.uint8)


def test_swd_small_for_same_distribution_large_for_different():
    a, b, c = _images(0), _images(1), _images(2, smooth=False)
    same, diff = swd(a, b)["swd"], swd(a, c)["swd"]  # 128 patches per image, as Karras et al.
    assert same < 0.7 * diff
    assert len(swd(a, b, patches_per_image=8)["swd_levels"]) == 2  # 32 px: one band-pass level and the 16 px residual


def test_memorization_finds_copies():
    train = _images(0, n=100)
    fake = torch.cat([train[:10], _images(5, n=10, smooth=False)])
    out = memorization(fake, train, threshold=0.02)
    assert out["memorized_fraction"] == 0.5
    assert out["closest_pairs"][0][1] == out["closest_pairs"][0][0]  # a copy's nearest is its original


def test_fid_skipped_without_weights(tmp_path):
    logs = []
    assert fid_kid(_images(0), _images(1), str(tmp_path / "missing.pth"), torch.device("cpu"), logs.append) == {}
    assert len(logs) == 1 and "skipped" in logs[0]
