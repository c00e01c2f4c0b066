"""The retraining policy: train or not, from scratch or warm, and for how many steps.

Retrain when at least `min_new_accepted` accepted crops are in the new export that were not in the
export the promoted model was trained on (or when asked to with `--train`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from studio.config import PipelineConfig


@dataclass(frozen=True)
class TrainDecision:
    train: bool
    reason: str
    new_accepted: int  # accepted crops not in the promoted model's export
    warm_start_from: Path | None = None  # checkpoint to fine-tune, None = from scratch
    steps: int = 0


def new_accepted(current: set[str], trained_on: set[str]) -> int:
    """Accepted crops (sha256 of the crop) that the promoted model has not seen."""
    return len(current - trained_on)


def decide_training(
    cfg: PipelineConfig,
    *,
    export_size: int,
    new: int,
    promoted_checkpoint: Path | None,
    force: bool = False,
) -> TrainDecision:
    warm = promoted_checkpoint if cfg.warm_start and promoted_checkpoint is not None else None
    if export_size == 0:
        return TrainDecision(False, "the export holds no accepted crops", new)
    if force:
        return TrainDecision(True, f"asked for with --train ({new} new accepted crops)", new, warm, cfg.steps)
    if new >= cfg.min_new_accepted:
        why = f"{new} new accepted crops >= min_new_accepted {cfg.min_new_accepted}"
        return TrainDecision(True, why, new, warm, cfg.steps)
    why = f"only {new} new accepted crops since the promoted model's export (min_new_accepted {cfg.min_new_accepted})"
    return TrainDecision(False, why, new)
