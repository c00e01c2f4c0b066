"""Losses, penalties and adaptive augmentation, measured: the pytorch/examples DCGAN loop against
the studio trainer's variants at equal steps, scored by SWD on held-apart or training faces.

Data (32 px, built once by `prepare`; real faces only):

    lfw100     the 100 faces of scikit-image's lfw_subset (25 px grey, upscaled to 32 px RGB);
               scored against the same 100 faces (few-shot protocol: there is nothing held apart)
    lfw1000    1,000 augmented views of those 100 faces (random crop 80-100 %, shift, rotation
               +-8 degrees, brightness/contrast +-15 %): more images, NOT more identities; scored
               against 512 other views drawn with another seed

Each `run` trains one (set, variant, seed) on one CPU thread and appends one JSON line to
results.jsonl: SWD x1e3 of 512 samples (EMA G where the variant has one, G in eval mode) against
512 real images, the raw G's SWD, the memorised fraction, the final augmentation p, seconds.
The reference loop is pytorch/examples/dcgan's (BCE, Adam 2e-4 / 0.5, files through torchvision's
ImageFolder DataLoader: bench/train.py's `_loader`), on the same DCGAN from gan.models.

    python bench/loss_sweep.py prepare --out /tmp/sweep
    python bench/loss_sweep.py run --out /tmp/sweep --set lfw100 --variant reference --seed 0
    python bench/loss_sweep.py plan --out /tmp/sweep [--sets ...] [--seeds 0 1]   # the run lines
    python bench/loss_sweep.py rescore --out /tmp/sweep    # swd_mirror for rows measured without it
    python bench/loss_sweep.py table --out /tmp/sweep                              # markdown
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.train import _loader, paper_dcgan  # the reference loop's data path and networks
from gan.config import TrainConfig
from gan.data import load_images
from gan.metrics import memorization, swd
from gan.models import build_models
from gan.sampling import generate, latents
from gan.train import train

AUG = "translation,cutout,color"
RP = {"loss": "rpgan", "beta1": 0.0}  # R3GAN's loss and Adam beta1 = 0
VARIANTS = {  # name → TrainConfig overrides of the studio defaults ("reference" is the examples loop)
    "reference": None,
    "studio": {"xflip": True},  # the defaults before this sweep: ns, BatchNorm D, EMA 10 kimg, no augmentation, x-flips
    "studio(noflip)": {"xflip": False},  # as the reference: no mirrored images
    "noflip+ada": {"xflip": False, "augment": AUG, "ada_target": 0.6},
    "studio+ada": {"augment": AUG, "ada_target": 0.6},
    "rpgan+r1r2": {**RP, "r1_gamma": 0.1, "r2_gamma": 0.1},
    "rpgan+r1r2+ada": {**RP, "r1_gamma": 0.1, "r2_gamma": 0.1, "augment": AUG, "ada_target": 0.6},
    "ns+r1": {"r1_gamma": 0.1},
    "rpgan+r1r2(heur)": {**RP, "r1_gamma": -1.0, "r2_gamma": -1.0},  # 0.0002 * 32^2 / 64 = 0.0032
    "rpgan+r1r2(1.0)": {**RP, "r1_gamma": 1.0, "r2_gamma": 1.0},
    "rpgan+r1r2+ada(decay)": {**RP, "r1_gamma": 0.1, "r2_gamma": 0.1, "augment": AUG, "ada_target": 0.6,
                              "gamma_end": 0.1},
    # cheap changes of the defaults (xflip off), one at a time
    "ema-ramp0.2": {"ema_rampup": 0.2},  # half-life up to 20 % of the images seen: 10 kimg from step 780
    "ema-ramp0.02": {"ema_rampup": 0.02},  # a shorter average
    "lr5e-4": {"lr_g": 5e-4, "lr_d": 5e-4},
    "ttur": {"lr_g": 1e-4, "lr_d": 4e-4},  # two time-scale update rule (Heusel et al. 2017)
    "lr_g4e-4": {"lr_g": 4e-4},  # G faster than D
    "beta1-0": {"beta1": 0.0},
    "beta2-0.99": {"beta2": 0.99},  # StyleGAN2 / R3GAN's beta2
    "hinge": {"loss": "hinge"},
    "rpgan-nopenalty": {"loss": "rpgan"},  # relativistic pairing, D keeps its BatchNorm
    "ns+r1(heur)": {"r1_gamma": -1.0},  # 0.0032 at 32 px / batch 64; D without BatchNorm
    "ns+r1(heur,bn)": {"r1_gamma": -1.0, "d_norm": "batch"},  # the same penalty, D keeps BatchNorm
    "dnorm-none": {"d_norm": "none"},  # D without BatchNorm, no penalty
    "translation+ada": {"augment": "translation", "ada_target": 0.6},
}
EVAL_N = 512


def _save(arr: np.ndarray, path: Path) -> None:
    Image.fromarray(arr).save(path)


def _lfw() -> list[np.ndarray]:
    from skimage import data

    faces = []
    for face in data.lfw_subset()[:100]:  # the first 100 of lfw_subset are faces
        grey = (np.clip(face, 0, 1) * 255).astype(np.uint8)
        faces.append(np.asarray(Image.fromarray(grey).convert("RGB")
                                .resize((64, 64), Image.Resampling.LANCZOS)))  # views crop from 64 px
    return faces


def _view(face: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One augmented 32 px view of a 64 px face."""
    im = Image.fromarray(face).rotate(float(rng.uniform(-8, 8)), Image.Resampling.BILINEAR)
    side = int(64 * rng.uniform(0.8, 1.0))
    x, y = (int(v) for v in rng.integers(0, 64 - side + 1, 2))
    im = im.crop((x, y, x + side, y + side)).resize((32, 32), Image.Resampling.LANCZOS)
    a = np.asarray(im).astype(np.float32)
    a = (a - a.mean()) * rng.uniform(0.85, 1.15) + a.mean() * rng.uniform(0.85, 1.15)
    return np.clip(a, 0, 255).astype(np.uint8)


def prepare(out: Path) -> None:
    faces = _lfw()
    for name in ("lfw100", "lfw1000"):
        (out / name / "train" / "all").mkdir(parents=True, exist_ok=True)
        (out / name / "eval").mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(faces):
        small = np.asarray(Image.fromarray(f).resize((32, 32), Image.Resampling.LANCZOS))
        _save(small, out / "lfw100" / "train" / "all" / f"{i:03d}.png")
    rng = np.random.default_rng(0)
    for i in range(1000):
        _save(_view(faces[i % 100], rng), out / "lfw1000" / "train" / "all" / f"{i:04d}.png")
    rng = np.random.default_rng(1)
    for i in range(EVAL_N):
        _save(_view(faces[i % 100], rng), out / "lfw1000" / "eval" / f"{i:04d}.png")
    print(f"prepared {out}")


def _uint8(folder: Path) -> torch.Tensor:
    return load_images(folder, 32, lambda m: None).images


def eval_reals(out: Path, name: str) -> torch.Tensor:
    """The faces a set is scored against: held-apart views (lfw1000), else the training faces
    drawn with repeats up to EVAL_N (lfw100: as the trainer's own evaluation does)."""
    if any((out / name / "eval").iterdir()):
        return _uint8(out / name / "eval")[:EVAL_N]
    reals = _uint8(out / name / "train")
    return reals[torch.randint(len(reals), (EVAL_N,), generator=torch.Generator().manual_seed(7))]


def half_mirrored(reals: torch.Tensor) -> torch.Tensor:
    """`reals` with half of them mirrored (a fixed draw): the distribution a trainer that flips
    its batches (the studio's sampler, `xflip`) is asked to learn. lfw faces have a handedness:
    SWD(reals, all mirrored) is ~60 on lfw100, so the flip alone moves SWD a lot."""
    pick = torch.rand(len(reals), generator=torch.Generator().manual_seed(3)) < 0.5
    return torch.where(pick.view(-1, 1, 1, 1), reals.flip(3), reals)


def base_config(steps: int, batch: int, width: int, seed: int, **kw) -> TrainConfig:
    return TrainConfig(resolution=32, steps=steps, batch=batch, g_width=width, d_width=width, seed=seed,
                       device="cpu", log_every=100, sample_every=steps, ckpt_every=steps, metric_every=0,
                       metric_images=64, keep_last=1, **kw)


def reference_fit(data: Path, cfg: TrainConfig) -> torch.nn.Module:
    """pytorch/examples/dcgan/main.py's loop (BCE, real label 1, fake 0, Adam 2e-4 / 0.5, the fake
    reused for G's step, no EMA, no flips), `cfg.steps` steps; returns G."""
    torch.manual_seed(cfg.seed)
    loader = _loader(data, cfg, workers=0)
    netG, netD = build_models(paper_dcgan(cfg))
    crit = torch.nn.BCEWithLogitsLoss()
    optD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    done = 0
    while done < cfg.steps:
        for real, _ in loader:
            b = real.size(0)
            netD.zero_grad()
            crit(netD(real), torch.ones(b)).backward()
            fake = netG(torch.randn(b, cfg.z_dim))
            crit(netD(fake.detach()), torch.zeros(b)).backward()
            optD.step()
            netG.zero_grad()
            crit(netD(fake), torch.ones(b)).backward()
            optG.step()
            done += 1
            if done >= cfg.steps:
                break
    return netG


def _run_dir(out: Path, name: str, variant: str, seed: int) -> Path:
    return out / "runs" / f"{name}-{variant}-s{seed}".replace("+", "_").replace("(", "").replace(")", "")


def rescore(out: Path) -> None:
    """Add `swd_mirror` to the rows measured before it existed, from each studio run's final
    checkpoint (G_ema, the same latents); the reference loop's G is not saved, so not its rows."""
    from gan.sampling import load_generator

    for r in _rows(out):  # rows that have swd_mirror (measured, or rescored before) are skipped
        run = _run_dir(out, r["set"], r["variant"], r["seed"])
        if "swd_mirror" not in r and (run / "checkpoints").is_dir():
            g, _ = load_generator(run)
            got = swd(half_mirrored(eval_reals(out, r["set"])), generate(g, latents(EVAL_N, 1234, 100)))["swd"]
            with open(out / "mirror.jsonl", "a") as f:  # beside results.jsonl, which runs append to
                f.write(json.dumps({"set": r["set"], "variant": r["variant"], "seed": r["seed"],
                                    "swd_mirror": got}) + "\n")
            print(r["set"], r["variant"], r["seed"], round(got, 1), flush=True)


def _key(r: dict) -> tuple:
    return r["set"], r["variant"], r["seed"]


def _rows(out: Path) -> list[dict]:
    """results.jsonl, with the swd_mirror that `rescore` added to older rows."""
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines() if x.strip()]
    extra = out / "mirror.jsonl"
    mirror = {_key(m): m["swd_mirror"] for m in map(json.loads, extra.read_text().splitlines())} \
        if extra.exists() else {}
    for r in rows:
        if "swd_mirror" not in r and _key(r) in mirror:
            r["swd_mirror"] = mirror[_key(r)]
    return rows


def run_one(out: Path, name: str, variant: str, seed: int, steps: int, batch: int, width: int) -> dict:
    torch.set_num_threads(1)
    train_dir = out / name / "train"
    t0 = time.perf_counter()
    extra: dict = {}
    if VARIANTS[variant] is None:
        g = reference_fit(train_dir, base_config(steps, batch, width, seed))
        g_raw = g
    else:
        cfg = base_config(steps, batch, width, seed, **VARIANTS[variant])
        grabbed = {}

        def grab(st):
            if st.step == steps:
                grabbed.update(G=copy.deepcopy(st.G), G_ema=copy.deepcopy(st.G_ema))

        run_dir = _run_dir(out, name, variant, seed)
        train(cfg, train_dir, run_dir, log=lambda m: None, _after_step=grab)
        g, g_raw = grabbed["G_ema"], grabbed["G"]
        lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
        steps_logged = [x for x in lines if "loss_d" in x]
        if steps_logged and "augment_p" in steps_logged[-1]:
            extra["augment_p"] = round(steps_logged[-1]["augment_p"], 3)
            extra["augment_p_max"] = round(max(x["augment_p"] for x in steps_logged), 3)
    seconds = time.perf_counter() - t0
    reals = eval_reals(out, name)
    z = latents(EVAL_N, 1234, 100)
    fake = generate(g.eval(), z)
    rec = {"set": name, "variant": variant, "seed": seed, "steps": steps, "batch": batch, "width": width,
           "swd": swd(reals, fake)["swd"], "swd_raw": swd(reals, generate(g_raw.eval(), z))["swd"],
           "swd_mirror": swd(half_mirrored(reals), fake)["swd"],
           "memorized": memorization(fake, _uint8(train_dir), 0.1)["memorized_fraction"],
           "train_s": round(seconds), **extra,
           "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, 1 thread"}
    with open(out / "results.jsonl", "a") as f:
        f.write(json.dumps(rec) + "\n")
    print(json.dumps(rec), flush=True)
    return rec


def table(out: Path) -> None:
    rows = _rows(out)
    sets = sorted({r["set"] for r in rows}, key=lambda s: int("".join(c for c in s if c.isdigit())))
    ref = {s: np.mean([r["swd"] for r in rows if r["set"] == s and r["variant"] == "reference"] or [np.nan])
           for s in sets}
    print("| variant | " + " | ".join(f"{s}: SWD (each seed) | ×ref | vs half-mirrored (runs)" for s in sets) + " |")
    print("|---|" + "---|---|---|" * len(sets))
    for v in VARIANTS:
        cells = []
        for s in sets:
            got = [r for r in rows if r["set"] == s and r["variant"] == v]
            if not got:
                cells += ["—", "—", "—"]
                continue
            vals = [r["swd"] for r in got]
            mir = [r["swd_mirror"] for r in got if "swd_mirror" in r]
            p = [r["augment_p_max"] for r in got if "augment_p_max" in r]
            cells.append(f"{np.mean(vals):.1f} ({', '.join(f'{x:.1f}' for x in vals)})"
                         + (f", p≤{max(p):.2f}" if p else ""))
            cells.append(f"{np.mean(vals) / ref[s]:.2f}")
            cells.append(f"{np.mean(mir):.1f} ({len(mir)})" if mir else "—")
        if any(c != "—" for c in cells):
            print(f"| {v} | " + " | ".join(cells) + " |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("command", choices=["prepare", "run", "plan", "table", "rescore"])
    p.add_argument("--out", type=Path, default=Path("/tmp/sweep"))
    p.add_argument("--set", default="lfw100")
    p.add_argument("--variant", default="studio", choices=list(VARIANTS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--sets", nargs="+", default=["lfw100", "lfw1000"])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS)[:6])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    a = p.parse_args()
    if a.command == "prepare":
        prepare(a.out)
    elif a.command == "run":
        run_one(a.out, a.set, a.variant, a.seed, a.steps, a.batch, a.width)
    elif a.command == "plan":
        for seed in a.seeds:
            for s in a.sets:
                for v in a.variants:
                    print(f"run --out {a.out} --set {s} --variant '{v}' --seed {seed} --steps {a.steps} "
                          f"--batch {a.batch} --width {a.width}")
    elif a.command == "rescore":
        rescore(a.out)
    else:
        table(a.out)


if __name__ == "__main__":
    main()
