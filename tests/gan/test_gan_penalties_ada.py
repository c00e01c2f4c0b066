"""The relativistic pairing loss, zero-centred R1/R2, and the adaptive augmentation probability."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from gan.augment import AdaptiveP, diff_augment
from gan.checkpoint import list_checkpoints, load_state, load_weights
from gan.config import TrainConfig
from gan.losses import d_loss, g_loss, gamma_at, gradient_penalty
from gan.models import Discriminator, build_discriminator
from gan.train import train
from tests.gan.gan_helpers import tiny

WORKER = Path(__file__).with_name("worker.py")
ROOT = Path(__file__).resolve().parents[2]
ALL_NEW = {"loss": "rpgan", "beta1": 0.0, "r1_gamma": 0.5, "r2_gamma": 0.5, "reg_every": 2, "gamma_end": 0.1,
           "augment": "translation,cutout,color", "ada_target": 0.6, "ada_interval": 1, "ada_kimg": 0.2}


def _metrics(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]


# -- penalties and losses ---------------------------------------------------------------------

def test_penalty_is_zero_centred():
    x = torch.randn(4, 3, 32, 32)
    flat_high = lambda v: v.sum(dim=[1, 2, 3]) * 0 + 5.0  # noqa: E731 - constant 5: zero gradient
    assert gradient_penalty(flat_high, x).item() == 0.0  # zero at any value of D, not only at 0
    zero_d = Discriminator(32, 8, batchnorm=False)
    for m in zero_d.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.zeros_(m.weight)
    assert gradient_penalty(zero_d, x).item() == 0.0
    d = Discriminator(32, 8, batchnorm=False)
    pen = gradient_penalty(d, x)
    assert pen.item() > 0
    pen.backward()  # differentiable w.r.t. D's parameters (the double backward)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in d.parameters())
    slope = lambda v: 3.0 * v.sum(dim=[1, 2, 3])  # noqa: E731 - gradient 3 everywhere: |g|^2 = 9 * pixels
    assert gradient_penalty(slope, x).item() == pytest.approx(9.0 * 3 * 32 * 32)


def test_relativistic_pairing_loss():
    r, f = torch.randn(8), torch.randn(8)
    assert torch.allclose(d_loss("rpgan", r, f), F.softplus(-(r - f)).mean())
    assert torch.allclose(g_loss("rpgan", f, r), F.softplus(-(f - r)).mean())
    with pytest.raises(ValueError, match="loss must be"):
        TrainConfig(loss="wgan").validate()


def test_gamma_heuristic_and_schedule():
    cfg = TrainConfig(resolution=64, batch=64, r1_gamma=-1.0, r2_gamma=-2.0)
    assert cfg.gamma("r1") == pytest.approx(0.0002 * 64 * 64 / 64)  # StyleGAN2-ADA's heuristic
    assert cfg.gamma("r2") == pytest.approx(2 * 0.0128)
    assert TrainConfig(r1_gamma=0.3).gamma("r1") == 0.3
    vals = [gamma_at(1.0, s, 101, 0.1) for s in range(101)]
    assert vals[0] == 1.0 and vals[-1] == pytest.approx(0.1) and vals == sorted(vals, reverse=True)
    assert gamma_at(1.0, 50, 101, 1.0) == 1.0


def test_d_drops_batchnorm_under_a_penalty():
    def has_bn(cfg):
        return any(isinstance(m, torch.nn.BatchNorm2d) for m in build_discriminator(cfg).modules())

    assert has_bn(TrainConfig(resolution=32))
    assert not has_bn(TrainConfig(resolution=32, r1_gamma=1.0))
    assert has_bn(TrainConfig(resolution=32, r1_gamma=1.0, d_norm="batch"))  # asked for: kept
    assert not has_bn(TrainConfig(resolution=32, d_norm="none"))
    with pytest.raises(ValueError, match="needs augment ops"):
        TrainConfig(ada_target=0.6).validate()


# -- the adaptive augmentation probability --------------------------------------------------------

def test_p_rises_when_d_overfits_and_falls_when_it_does_not():
    ada = AdaptiveP(target=0.6, interval=4, kimg=1.0, batch=50, device=torch.device("cpu"))
    step = 50 * 4 / 1000  # per adjustment: batch * interval / (kimg * 1000)
    overfit = torch.full((50,), 3.0)  # D calls every real "real": E[sign] = 1 > 0.6
    for _ in range(4 * 3):
        ada.accumulate(overfit)
    assert ada.p.item() == pytest.approx(3 * step) and ada.signal.item() == 1.0
    healthy = torch.cat([torch.full((25,), 1.0), torch.full((25,), -1.0)])  # E[sign] = 0 < 0.6
    for _ in range(4):
        ada.accumulate(healthy)
    assert ada.p.item() == pytest.approx(2 * step)  # one adjustment down
    for _ in range(4 * 10):
        ada.accumulate(healthy)
    assert ada.p.item() == 0.0  # clipped at 0: a large set that D does not overfit gets none
    for _ in range(4 * 100):
        ada.accumulate(overfit)
    assert ada.p.item() == 1.0  # and at 1


def test_p_zero_augments_nothing_and_p_one_everything():
    x = torch.rand(6, 3, 16, 16) * 2 - 1
    ops = ["translation", "cutout", "color"]
    assert torch.equal(diff_augment(x, ops, torch.Generator().manual_seed(0), torch.tensor(0.0)), x)
    every = diff_augment(x, ops, torch.Generator().manual_seed(0), torch.tensor(1.0))
    assert all(not torch.equal(every[i], x[i]) for i in range(6))


@pytest.mark.slow
@pytest.mark.slow
def test_p_rises_on_a_tiny_set_in_a_real_run(tmp_path):
    from tests.gan.gan_helpers import make_images

    data = tmp_path / "tiny"
    make_images(data, n=6)
    for f in data.glob("*.jpg"):
        f.unlink()  # 6 shapes: a set D overfits at once
    cfg = tiny(steps=40, log_every=10, sample_every=40, ckpt_every=40, augment="translation,cutout,color",
               ada_target=0.6, ada_interval=1, ada_kimg=0.2, batch=8)
    train(cfg, data, tmp_path / "run", log=lambda m: None)
    ps = [r["augment_p"] for r in _metrics(tmp_path / "run") if "augment_p" in r]
    assert len(ps) == 4 and ps[-1] > 0.2, ps  # D(real) mostly positive: p climbed
    state = load_state(list_checkpoints(tmp_path / "run" / "checkpoints")[-1])
    assert state["ada"]["p"].item() == pytest.approx(ps[-1])  # saved with the checkpoint


@pytest.mark.slow
def test_samples_never_show_augmentations(tmp_path, image_dir):
    """p forced to 1 for the whole run: the sample grid is still G_ema's plain output."""
    from gan.sampling import generate, grid_image, latents, load_generator

    def force(st):
        st.ada.p = torch.ones(())

    cfg = tiny(steps=4, augment="translation,cutout,color", ada_target=0.6)
    train(cfg, image_dir, tmp_path / "run", log=lambda m: None, _after_step=force)
    g, _ = load_generator(tmp_path / "run")
    expected = grid_image(generate(g, latents(16, cfg.seed + 1, cfg.z_dim)))
    saved = (tmp_path / "run" / "samples" / "step-0000004.png")
    from PIL import Image

    assert list(Image.open(saved).convert("RGB").getdata()) == list(expected.convert("RGB").getdata())


# -- whole runs with every new option -----------------------------------------------------------

@pytest.mark.slow
@pytest.mark.slow
def test_new_options_train_deterministically(tmp_path, image_dir):
    runs = [train(tiny(steps=4, **ALL_NEW), image_dir, tmp_path / f"r{i}", log=lambda m: None) for i in (0, 1)]
    a, b = (load_weights(list_checkpoints(r.run_dir / "checkpoints")[-1]) for r in runs)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    logged = [r for r in _metrics(runs[0].run_dir) if "loss_d" in r]
    assert all({"r1", "r2", "augment_p", "ada_signal"} <= r.keys() for r in logged)
    assert not any(k.startswith("D.") and "running_mean" in k for k in a)  # no BatchNorm in D


def _worker(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(WORKER), *map(str, args)], env=env, capture_output=True, text=True,
                          timeout=240)


@pytest.mark.slow
def test_sigkill_then_resume_restores_p_exactly(image_dir, tmp_path):
    opts = json.dumps({**ALL_NEW, "ada_interval": 3})  # the kill lands mid-interval: its sums resume too
    straight = _worker(image_dir, tmp_path / "a", 8, "--dump", tmp_path / "a.hash", "--options", opts)
    assert straight.returncode == 0, straight.stderr
    killed = _worker(image_dir, tmp_path / "b", 8, "--kill-at", 5, "--options", opts)
    assert killed.returncode == -9
    ckpt = list_checkpoints(tmp_path / "b" / "checkpoints")[-1]
    assert ckpt.name == "step-0000004"
    resumed = _worker(image_dir, tmp_path / "b", 8, "--resume", "--dump", tmp_path / "b.hash", "--options", opts)
    assert resumed.returncode == 0, resumed.stderr
    assert (tmp_path / "a.hash.0").read_text() == (tmp_path / "b.hash.0").read_text()  # weights, p, sums
    pa = [r["augment_p"] for r in _metrics(tmp_path / "a") if "augment_p" in r]
    pb = [r["augment_p"] for r in _metrics(tmp_path / "b") if "augment_p" in r]
    assert pa == pb and len(pa) == 8 and max(pa) > 0
    a_state = load_state(list_checkpoints(tmp_path / "a" / "checkpoints")[-1])
    b_state = load_state(list_checkpoints(tmp_path / "b" / "checkpoints")[-1])
    assert torch.equal(a_state["ada"]["p"], b_state["ada"]["p"])


@pytest.mark.slow
def test_ddp_with_penalties_and_ada_keeps_ranks_identical(image_dir, tmp_path):
    """Two gloo processes: the penalty pass (no_sync, then the D step's all-reduce) and the
    all-reduced ADA signal keep both ranks' weights and p the same."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
           str(WORKER), str(image_dir), str(tmp_path / "ddp"), "4", "--dump", str(tmp_path / "h"),
           "--options", json.dumps(ALL_NEW)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "h.0").read_text() == (tmp_path / "h.1").read_text()
    ps = [r["augment_p"] for r in _metrics(tmp_path / "ddp") if "augment_p" in r]
    assert len(ps) == 4 and max(ps) > 0


def test_xflip_is_off_by_default_and_old_runs_keep_their_flips():
    from gan.data import DeviceSampler

    assert TrainConfig().xflip is False
    assert TrainConfig.from_dict({"resolution": 32}).xflip is True  # a run recorded before the field
    assert TrainConfig.from_dict(TrainConfig().to_dict()).xflip is False
    images = torch.arange(4 * 3 * 4 * 4, dtype=torch.float32).view(4, 3, 4, 4).to(torch.uint8)
    plain = DeviceSampler(images, torch.device("cpu"), False, seed=0, xflip=False)
    mirrored = DeviceSampler(images, torch.device("cpu"), False, seed=0, xflip=True)
    a, b = plain.sample(64), mirrored.sample(64)
    as_stored = {tuple(im.flatten().tolist()) for im in images.float().div(127.5).sub(1)}
    assert all(tuple(im.flatten().tolist()) in as_stored for im in a)  # never mirrored
    assert not all(tuple(im.flatten().tolist()) in as_stored for im in b)
    assert torch.equal(plain.gen.get_state(), mirrored.gen.get_state())  # the same RNG stream either way
