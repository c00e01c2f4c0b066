"""The divergence guard: on a non-finite loss or a collapsed D, roll back and lower the LRs.

Checked once per log window (the only host sync). A roll-back restores the last healthy
in-memory snapshot (weights, optimisers, RNG, step) and multiplies both learning rates by
`lr_factor`; after `retries` roll-backs the run stops with a clear error. Gradients are never
zeroed or clipped to hide a NaN.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

from gan.errors import GanError


@dataclass
class DivergenceGuard:
    retries: int = 3  # roll-backs allowed in one run
    lr_factor: float = 0.5  # LR multiplier applied at each roll-back
    d_loss_min: float = 1e-3  # window-mean D loss below this = D collapsed
    rollbacks: int = 0  # roll-backs so far (saved in checkpoints)
    lr_scale: float = 1.0  # current LR multiplier (saved in checkpoints)

    def problem(self, stats: dict[str, float]) -> str | None:
        """Why this window is unhealthy, or None."""
        bad = [k for k, v in stats.items() if not math.isfinite(v)]
        if bad:
            return f"non-finite {', '.join(bad)}"
        if stats["loss_d"] < self.d_loss_min:
            return f"D collapsed (loss_d {stats['loss_d']:.2e} < {self.d_loss_min:g})"
        return None

    def roll_back(self, reason: str, step: int) -> None:
        self.rollbacks += 1
        if self.rollbacks > self.retries:
            raise GanError(f"training diverged at step {step} ({reason}) after {self.retries} roll-back(s)")
        self.lr_scale *= self.lr_factor

    def state(self) -> dict[str, Any]:
        return {"rollbacks": self.rollbacks, "lr_scale": self.lr_scale}

    def load(self, state: dict[str, Any]) -> None:
        self.rollbacks, self.lr_scale = int(state["rollbacks"]), float(state["lr_scale"])


def deep_copy(obj: Any) -> Any:
    """A snapshot of state dicts (tensors cloned, so later in-place updates do not leak in)."""
    return copy.deepcopy(obj)
