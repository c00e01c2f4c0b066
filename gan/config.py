"""The training configuration: the `[train]` section of studio.toml (stdlib only)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainConfig:
    resolution: int = 64  # image side: 32, 64, 128 or 256; the network depth follows it
    steps: int = 10000  # optimisation steps (one D and one G update each)
    batch: int = 64  # images per step
    device: str = "auto"  # auto, cpu, cuda or cuda:N

    def validate(self) -> None:
        if self.resolution not in (32, 64, 128, 256):
            raise ValueError("resolution must be 32, 64, 128 or 256")
        if self.steps < 1 or self.batch < 1:
            raise ValueError("steps and batch must be >= 1")
