"""What the workspace's own crops say about pollution before anyone labels one: each rule's
signal calibrated per source, and how atypical each crop is among its workspace's crops.

A rule is evidence, never a veto. A gallery's crops are mostly the wanted kind, so a rule that
fires on a large share of one source's crops is misreading that source's style (shaded CG art
compressed as JPEG read as photographs, for one): at most POLLUTION_SHARE of a source can be
pollution, so at most POLLUTION_SHARE / share of the crops a rule fired on can be, and its
probability is capped there. A user can switch a rule off for a source (`rules_off` in the
catalog's record). Atypicality adds evidence the rules do not see: a crop far from its nearest
neighbours in the workspace's own style space (as instance selection ranks training images)
leans towards pollution, a crop deep inside the crowd leans away from it.

Pure numpy on columns; `curation.scoring` reads the columns from the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curation.pollution import P_BASE, SIGNAL_PRIORS, SIGNALS

# Set a priori, not by the bench (whose art rarely fools the rules, so any cap from 0.05 to 0.3
# scores the same there): a source's crops are assumed at most a tenth pollution.
POLLUTION_SHARE = 0.1
MIN_SOURCE_CROPS = 20  # below this many crops a source is calibrated with the whole workspace
# Atypicality: robust z-score of the log mean distance to the nearest NEIGHBOUR_SHARE of the
# crops in the whitened style space; its log-odds lift is ATYPICAL_WEIGHT × clip(z −
# ATYPICAL_FROM, −1, ATYPICAL_CAP). A share, not a fixed k: a dozen similar polluted crops are
# each other's nearest neighbours, but not a fifth of the gallery (pollution is assumed to be at
# most POLLUTION_SHARE of it, and a style of the wanted kind more than that).
# Chosen on the tuning sources of bench/curation_quality.py (Ren'Py, generated art), reported on
# the others (docs/benchmarks.md): up to z = 1 a crop gets −4 (the crowd's style is trusted over
# a rule), from z = 3 on +4 and more.
NEIGHBOUR_SHARE = 0.2
MIN_NEIGHBOURS = 10
ATYPICAL_FROM = 2.0
ATYPICAL_WEIGHT = 4.0
ATYPICAL_CAP = 3.0
MIN_CROPS_FOR_ATYPICALITY = 30  # fewer crops say nothing about what is typical
# Neighbours are searched among at most this many crops: the distance to the nearest fifth of
# 2,000 is as telling as of 100,000, and 100,000 crops take ~10 s (docs/benchmarks.md).
REFERENCE_SAMPLE = 2000


@dataclass(frozen=True)
class RuleStat:
    """One rule on one source: how often it fired and what it is worth there."""
    domain: str
    rule: str
    fired: int
    crops: int
    probability: float  # the calibrated probability a crop it fired on is polluted (0: off)
    suspect: bool  # it fires on too large a share of this source to be trusted at full weight
    off: bool  # switched off for this source by the user


def calibrate(signals: np.ndarray, domains: list[str | None],
              rules_off: dict[str, list[str]] | None = None,
              share_cap: float | None = None) -> tuple[np.ndarray, list[RuleStat]]:
    """(N, S) probability that each fired rule's crop is polluted (0 where it did not fire or is
    switched off), and the per-source statistics behind it."""
    cap = POLLUTION_SHARE if share_cap is None else share_cap
    signals = np.asarray(signals, dtype=bool).reshape(len(domains), len(SIGNALS))
    rules_off = rules_off or {}
    dom = np.array([d or "" for d in domains], dtype=object)
    prior = np.zeros(signals.shape)
    stats: list[RuleStat] = []
    # Too few crops in the whole workspace say nothing about a rule's share: no calibration.
    workspace_share = (signals.mean(0) if len(signals) >= MIN_SOURCE_CROPS
                       else np.zeros(len(SIGNALS)))
    for d in sorted(set(dom.tolist())):
        rows = dom == d
        n = int(rows.sum())
        fired = signals[rows].sum(0)
        share = fired / n if n >= MIN_SOURCE_CROPS else workspace_share
        for s, name in enumerate(SIGNALS):
            p = min(SIGNAL_PRIORS[s], cap / share[s]) if share[s] > 0 else SIGNAL_PRIORS[s]
            off = name in rules_off.get(d, ()) or name in rules_off.get("*", ())
            prior[rows, s] = np.where(signals[rows, s], 0.0 if off else p, 0.0)
            if fired[s]:
                stats.append(RuleStat(d, name, int(fired[s]), n, round(0.0 if off else float(p), 4),
                                      bool(p < SIGNAL_PRIORS[s]), bool(off)))
    return prior, stats


def combine(prior: np.ndarray, base: float = P_BASE) -> np.ndarray:
    """Independent evidence: 1 − (1 − base) · Π (1 − p) over the rules that fired."""
    return 1 - (1 - base) * np.prod(1 - prior, axis=1)


def atypicality(z: np.ndarray, share: float = NEIGHBOUR_SHARE, sample: int = REFERENCE_SAMPLE) -> np.ndarray:
    """Robust z-score of each row's log mean distance to its nearest `share` of the other rows
    of `z` (a whitened representation), among a fixed sample of at most `sample` rows; NaN (no
    evidence) for every row when there are too few to say what is typical."""
    n = len(z)
    if n < MIN_CROPS_FOR_ATYPICALITY or z.shape[1] == 0:
        return np.full(n, np.nan)
    ref = np.arange(n) if n <= sample else np.sort(np.random.default_rng(0).choice(n, sample, replace=False))
    z = np.asarray(z, dtype=np.float32)
    r = z[ref]
    r2 = (r * r).sum(1)
    k = int(min(max(MIN_NEIGHBOURS, round(share * len(ref))), len(ref) - 1))
    dist = np.empty(n)
    for s in range(0, n, 4096):  # (batch, reference) distances: no (N, N) matrix at 100k crops
        zs = z[s:s + 4096]
        d2 = np.maximum((zs * zs).sum(1)[:, None] + r2[None] - 2 * zs @ r.T, 0)
        own = np.searchsorted(ref, np.arange(s, s + len(zs)))
        is_ref = (own < len(ref)) & (ref[np.minimum(own, len(ref) - 1)] == np.arange(s, s + len(zs)))
        d2[np.flatnonzero(is_ref), own[is_ref]] = np.inf  # a crop is not its own neighbour
        near = np.partition(d2, k - 1, axis=1)[:, :k]
        dist[s:s + len(zs)] = np.sqrt(near).mean(1)
    log = np.log(dist + 1e-9)
    mad = 1.4826 * np.median(np.abs(log - np.median(log))) + 1e-9
    return (log - np.median(log)) / mad


def atypical_lift(score: np.ndarray, weight: float = ATYPICAL_WEIGHT,
                  start: float = ATYPICAL_FROM, cap: float = ATYPICAL_CAP) -> np.ndarray:
    """Log-odds of pollution added for an atypicality score (negative deep in the crowd; 0 for
    NaN, no score)."""
    score = np.asarray(score, dtype=np.float64)
    return np.where(np.isfinite(score), weight * np.clip(np.nan_to_num(score) - start, -1.0, cap), 0.0)


def logit(p) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def unlabelled_pollution(prior: np.ndarray, lift: np.ndarray) -> np.ndarray:
    """The pollution probability of every crop before any label: the calibrated rules plus the
    atypicality lift (log-odds)."""
    return 1 / (1 + np.exp(-(logit(combine(prior)) + lift)))


def main_cause(prior: np.ndarray, atypical: np.ndarray, learned: np.ndarray | None = None) -> list[str]:
    """Why each crop scores as polluted, in one word: the rule that weighs most, "atypical" when
    the lift outweighs every rule, "filter" when the labels' learned shift decided
    (`learned`: log-odds the filter added)."""
    weights = logit(np.maximum(prior, 1e-6)) - logit(P_BASE)  # each fired rule's log-odds
    columns = [np.where(prior > 0, weights, -np.inf), atypical_lift(atypical)[:, None]]
    names = [*SIGNALS, "atypical"]
    if learned is not None:
        columns.append(np.asarray(learned, dtype=np.float64)[:, None])
        names.append("filter")
    # The first of the largest, in this order (one argmax, not a loop over 100k crops).
    return [names[k] for k in np.argmax(np.hstack(columns), axis=1)]
