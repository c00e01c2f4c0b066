"""The training configuration: the `[train]` section of studio.toml (stdlib only).

Every field has a default and a comment; `studio/studio.toml` repeats them (a test checks it).
The resolved config is dumped to `RUN/config.json` before the first step.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

AUGMENT_OPS = ("translation", "cutout", "color")
LOSSES = ("ns", "hinge", "rpgan")
GAMMA_HEURISTIC = 0.0002  # StyleGAN2-ADA: gamma = 0.0002 * resolution^2 / batch


@dataclass
class TrainConfig:
    # what and how long
    resolution: int = 64  # image side: 32, 64, 128 or 256; the network depth follows it
    steps: int = 10000  # optimisation steps (one D and one G update each)
    kimg: int = 0  # if > 0, train on this many thousand real images instead of `steps`
    batch: int = 64  # images per step (all processes together under torchrun)
    device: str = "auto"  # auto, cpu, cuda or cuda:N
    seed: int = 0  # seeds weights, noise, batches and augmentation: same seed, same run
    # model
    z_dim: int = 100  # latent size (DCGAN paper: 100)
    g_width: int = 64  # generator channels at the last layer; doubles per layer down (paper: 64)
    d_width: int = 64  # discriminator channels at the first layer; doubles per layer (paper: 64)
    spectral_norm: bool = False  # spectral normalisation on D's convolutions (then no BatchNorm in D)
    d_norm: str = "auto"  # D's normaliser: batch (DCGAN), none, or auto = none when a gradient penalty or spectral norm is on, else batch
    loss: str = "ns"  # ns (non-saturating, the paper), hinge, or rpgan (relativistic pairing: softplus(-(D(real) - D(fake))), R3GAN)
    # optimiser
    lr_g: float = 0.0002  # Adam learning rate of G at `lr_ref_batch` (paper: 2e-4)
    lr_d: float = 0.0002  # Adam learning rate of D at `lr_ref_batch` (paper: 2e-4)
    beta1: float = 0.5  # Adam beta1 (paper: 0.5)
    beta2: float = 0.999  # Adam beta2
    lr_ref_batch: int = 64  # the LRs are for this batch; other batches scale them by sqrt(batch / this)
    # regularisation
    ema_kimg: float = 10.0  # half-life of the G weight average in thousands of images; 0 = no EMA
    ema_rampup: float = 0.05  # early on, the half-life is at most this fraction of images seen; 0 = off
    xflip: bool = False  # mirror half of the training images at random: for left-right symmetric data only (off: measured better on lfw faces, docs/training.md)
    augment: str = ""  # DiffAugment ops applied to real and fake images for D, e.g. "translation,cutout,color"
    ada_target: float = 0.0  # adaptive augmentation: 0 = off (each op always applied); > 0 = each op applied with probability p, moved so E[sign(D(real))] approaches this (StyleGAN2-ADA: 0.6)
    ada_interval: int = 4  # steps between adjustments of p (StyleGAN2-ADA: 4)
    ada_kimg: float = 100.0  # thousands of real images for p to go from 0 to 1 at the fastest (StyleGAN2-ADA: 500; faster for short runs)
    r1_gamma: float = 0.0  # zero-centred R1 penalty on reals, gamma/2 * E|grad D(x)|^2; 0 = off; < 0 = that multiple of 0.0002 * res^2 / batch (StyleGAN2-ADA's heuristic)
    r2_gamma: float = 0.0  # the same penalty on fakes (R2, R3GAN); 0 = off; < 0 = that multiple of the heuristic
    reg_every: int = 16  # lazy regularisation: the penalties every this many steps, weighted by it (StyleGAN2: 16); 1 = every step
    gamma_end: float = 1.0  # gamma at the last step as a fraction of its start, cosine schedule in between; 1 = constant (R3GAN decays to 0.1)
    # speed (used on CUDA only; ignored on CPU unless said otherwise)
    precision: str = "auto"  # auto (bf16 on CUDA, fp32 on CPU), bf16 or fp32
    channels_last: bool = True  # NHWC memory layout on CUDA (faster convolutions)
    compile: bool = True  # torch.compile the models on CUDA; falls back to eager with one line on error
    compile_cpu: bool = False  # also compile on the CPU (needs a C++ compiler; DCGAN gains little there)
    compile_backend: str = "inductor"  # torch.compile backend; "eager" / "aot_eager" only check the tracing
    data_on_device: str = "auto"  # auto (keep the image cache on the GPU when it fits), yes or no
    # logging, checkpoints, metrics
    log_every: int = 100  # steps between metrics.jsonl lines, progress updates and divergence checks
    sample_every: int = 1000  # steps between fixed-noise sample grids (and at the end)
    ckpt_every: int = 1000  # steps between checkpoints (and at the end)
    keep_last: int = 3  # checkpoints kept besides the best one
    metric_every: int = 5000  # steps between SWD evaluations (and at the end); 0 = only at the end
    metric_images: int = 0  # generated (and real) images per SWD / FID / KID evaluation; 0 = 2048 on CUDA, 512 on CPU
    inception_weights: str = ""  # path of the Inception weights file for FID/KID; empty = skip them
    memorization_threshold: float = 0.1  # generated images closer than this (RMS, 0..1 pixels) to a training image count as copies
    # divergence guard
    guard_retries: int = 3  # roll-backs allowed in one run before it is given up
    guard_lr_factor: float = 0.5  # multiply both LRs by this after each roll-back
    guard_d_loss_min: float = 0.001  # a D loss below this over a whole log window means D has collapsed G

    def validate(self) -> None:
        if self.resolution not in (32, 64, 128, 256):
            raise ValueError("resolution must be 32, 64, 128 or 256")
        if self.steps < 1 or self.batch < 1:
            raise ValueError("steps and batch must be >= 1")
        if self.kimg < 0:
            raise ValueError("kimg must be >= 0")
        if self.device != "auto" and self.device != "cpu" and not self.device.startswith("cuda"):
            raise ValueError("device must be auto, cpu, cuda or cuda:N")
        if min(self.z_dim, self.g_width, self.d_width, self.lr_ref_batch) < 1:
            raise ValueError("z_dim, g_width, d_width and lr_ref_batch must be >= 1")
        if self.loss not in LOSSES:
            raise ValueError("loss must be ns, hinge or rpgan")
        if self.d_norm not in ("auto", "batch", "none"):
            raise ValueError("d_norm must be auto, batch or none")
        if self.spectral_norm and self.d_norm == "batch":
            raise ValueError("spectral_norm replaces D's BatchNorm: use d_norm = auto or none with it")
        if not 0 <= self.ada_target < 1 or self.ada_interval < 1 or self.ada_kimg <= 0:
            raise ValueError("ada_target must be in [0, 1), ada_interval >= 1 and ada_kimg > 0")
        if self.ada_target > 0 and not self.augment_ops():
            raise ValueError('ada_target needs augment ops to adapt, e.g. augment = "translation,cutout,color"')
        if self.reg_every < 1 or not 0 <= self.gamma_end <= 1:
            raise ValueError("reg_every must be >= 1 and gamma_end in [0, 1]")
        if self.lr_g <= 0 or self.lr_d <= 0 or not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ValueError("lr_g and lr_d must be > 0, beta1 and beta2 in [0, 1)")
        if self.ema_kimg < 0 or self.ema_rampup < 0:
            raise ValueError("ema_kimg and ema_rampup must be >= 0")
        bad = [op for op in self.augment_ops() if op not in AUGMENT_OPS]
        if bad:
            raise ValueError(f"unknown augment op {bad[0]!r} (known: {', '.join(AUGMENT_OPS)})")
        if self.precision not in ("auto", "bf16", "fp32"):
            raise ValueError("precision must be auto, bf16 or fp32")
        if not self.compile_backend.strip():
            raise ValueError("compile_backend must name a torch.compile backend, e.g. inductor")
        if self.data_on_device not in ("auto", "yes", "no"):
            raise ValueError("data_on_device must be auto, yes or no")
        if min(self.log_every, self.sample_every, self.ckpt_every, self.keep_last) < 1:
            raise ValueError("log_every, sample_every, ckpt_every and keep_last must be >= 1")
        if min(self.metric_every, self.metric_images, self.memorization_threshold) < 0:
            raise ValueError("metric_every, metric_images and memorization_threshold must be >= 0")
        if self.guard_retries < 0 or not 0 < self.guard_lr_factor <= 1:
            raise ValueError("guard_retries must be >= 0 and guard_lr_factor in (0, 1]")

    def augment_ops(self) -> list[str]:
        return [op.strip() for op in self.augment.split(",") if op.strip()]

    def gamma(self, which: str) -> float:
        """The starting weight of penalty `which` ("r1" or "r2"): the configured value, or when
        negative that multiple of StyleGAN2-ADA's heuristic 0.0002 * resolution^2 / batch."""
        g = self.r1_gamma if which == "r1" else self.r2_gamma
        return -g * GAMMA_HEURISTIC * self.resolution**2 / self.batch if g < 0 else g

    def penalised(self) -> bool:
        return self.r1_gamma != 0 or self.r2_gamma != 0

    def d_batchnorm(self) -> bool:
        """Whether D has BatchNorm: `d_norm`, where auto drops it under a penalty or spectral norm
        (a gradient penalty should see each image's own gradient, not the batch's)."""
        if self.d_norm == "auto":
            return not (self.spectral_norm or self.penalised())
        return self.d_norm == "batch"

    def total_steps(self) -> int:
        """`steps`, or the steps that make `kimg` thousand images when `kimg` is set."""
        if self.kimg > 0:
            return max(1, -(-self.kimg * 1000 // self.batch))
        return self.steps

    def eval_images(self, device_type: str) -> int:
        """`metric_images`, or when 0 the default of the device: 2048 on CUDA; 512 on the CPU,
        where one SWD over 2048 images takes about half a minute on 2 cores (docs/benchmarks.md)."""
        return self.metric_images or (2048 if device_type == "cuda" else 512)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild from `to_dict()` output (a checkpoint or config.json); unknown keys are ignored."""
        known = {f.name for f in dataclasses.fields(cls)}
        data = {"xflip": True, **data}  # runs recorded before the field existed always mirrored
        return cls(**{k: v for k, v in data.items() if k in known})
