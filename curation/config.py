"""The `[curate]` section of studio.toml (stdlib only)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CurateConfig:
    detector: str = "anime"  # anime (LBP anime-face cascade) or human (OpenCV Haar), or a plug-in
    cascade: str = ""  # path of the anime cascade file; empty = look in the user cache dir
    margin: float = 1.5  # crop side / face side (square crop around the face)
    crop_size: int = 128  # stored crop side in pixels (export resizes)
    max_upscale: float = 2.0  # faces needing more upscaling than this are dropped
    pollution_threshold: float = 0.5  # crops above this pollution probability are not exported

    def validate(self) -> None:
        if self.margin < 1:
            raise ValueError("margin must be >= 1")
        if self.crop_size < 16:
            raise ValueError("crop_size must be >= 16")
        if self.max_upscale < 1:
            raise ValueError("max_upscale must be >= 1")
        if not 0 <= self.pollution_threshold <= 1:
            raise ValueError("pollution_threshold must be between 0 and 1")
