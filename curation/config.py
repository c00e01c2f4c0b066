"""The `[curate]` section of studio.toml (stdlib only)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CurateConfig:
    detector: str = "anime"  # anime (LBP anime-face cascade) or human (OpenCV Haar), or a plug-in
    cascade: str = ""  # path of an anime cascade file; empty = the shipped one (curation/data/)
    margin: float = 1.5  # crop side / face side (square crop around the face)
    crop_size: int = 128  # stored crop side in pixels (export resizes)
    max_upscale: float = 2.0  # faces needing more upscaling than this are dropped
    pollution_threshold: float = 0.5  # crops above this pollution probability are not exported
    workers: int = 2  # detection processes (one per core is plenty)
    min_blur: float = 20.0  # variance of the Laplacian below this = too blurry
    min_contrast: float = 12.0  # grey-level standard deviation below this = flat crop
    min_brightness: float = 25.0  # mean grey level below this = too dark
    max_brightness: float = 235.0  # mean grey level above this = washed out
    min_entropy: float = 4.0  # grey-histogram entropy (bits) below this = almost no content
    hash_distance: int = 7  # pHash/dHash Hamming distance (of 64 bits) that counts as near-duplicate
    embedding_distance: float = 0.12  # hash-near crops are duplicates only if also this close (cosine)
    keep_expressions: bool = True  # other expressions of one picture are distinct faces, not copies

    def validate(self) -> None:
        if self.margin < 1:
            raise ValueError("margin must be >= 1")
        if self.crop_size < 16:
            raise ValueError("crop_size must be >= 16")
        if self.max_upscale < 1:
            raise ValueError("max_upscale must be >= 1")
        if not 0 <= self.pollution_threshold <= 1:
            raise ValueError("pollution_threshold must be between 0 and 1")
        if self.workers < 1:
            raise ValueError("workers must be >= 1")
        if not 0 <= self.hash_distance <= 32:
            raise ValueError("hash_distance must be between 0 and 32")
        if not 0 <= self.embedding_distance <= 2:
            raise ValueError("embedding_distance must be between 0 and 2")
