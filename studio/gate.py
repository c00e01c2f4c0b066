"""The evaluation gate: is a new run good enough to replace the promoted model?

Both models are measured on the same evaluation set (same real images, same noise seed), so the
comparison is fair. Lower is better for every metric used here (SWD, FID).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    metric: str  # the metric the decision was made on (fid when both have it, else swd)
    new: float | None
    old: float | None  # the promoted model's value on the same set; None when nothing is promoted
    limit: float | None  # the largest new value that would still have been promoted
    reason: str  # one sentence for the report


def choose_metric(new: dict[str, float], old: dict[str, float] | None) -> str:
    """FID when both sides have it (Inception weights configured), otherwise SWD."""
    if "fid" in new and (old is None or "fid" in old):
        return "fid"
    return "swd"


def decide(new: dict[str, float], old: dict[str, float] | None, tolerance: float) -> GateDecision:
    """Promote unless `new` is worse than `old` by more than `tolerance` (a fraction of `old`)."""
    metric = choose_metric(new, old)
    value = new.get(metric)
    if value is None or not math.isfinite(value):
        return GateDecision(False, metric, value, None, None, f"the new run has no finite {metric} ({value})")
    if old is None:
        return GateDecision(True, metric, value, None, None, "no model was promoted yet")
    before = old[metric]
    limit = before * (1 + tolerance)
    if value <= limit:
        change = "better" if value < before else "not worse"
        return GateDecision(
            True, metric, value, before, limit,
            f"{metric} {value:.4g} is {change} than the promoted model's {before:.4g} "
            f"(limit {limit:.4g} with tolerance {tolerance:.0%})",
        )
    return GateDecision(
        False, metric, value, before, limit,
        f"{metric} {value:.4g} is worse than the promoted model's {before:.4g} by more than "
        f"the tolerance {tolerance:.0%} (limit {limit:.4g}); the run is kept but not promoted",
    )
