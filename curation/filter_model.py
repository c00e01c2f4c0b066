"""The learned pollution filter, trained on the user's labels (reject = polluted).

From the first label: each rule's reliability is re-estimated from the labelled crops it fired
on (a Beta prior at the rule's default), and a Bayesian logistic regression learns a shift of
the rules' log-odds from a representation of each crop's style (`features.filter_features`,
standardised and projected onto its principal components over this workspace's own crops:
unsupervised, no downloaded weights). The shift is moderated by its posterior uncertainty, so
with few labels, or far from any label, the probability stays near the rules' instead of
giving a confident verdict. The model is JSON in the catalog's record (`CatalogInfo.pollution_filter`):
nothing pickled. `curation.scoring.accuracy_summary` states how good it is.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime

import numpy as np

from curation import evidence
from curation.features import FEATURE_GROUPS, FEATURE_LENGTH

LR_MIN_PER_CLASS = 10  # from this many labels of each kind decide.py calls train/predict
SIGNALS = ("cat", "disagree", "occluded", "human_face", "photo", "blurred")  # = pollution.SIGNALS
PRIOR_STRENGTH = 2.0  # each rule's default probability counts as this many labels
# Set a priori from what they mean, not fitted to the bench:
# Principal components of the style features the regression sees: one per 8 labels, 2 to 16.
# More components with few labels generalise worse (bench set seed 0, half of each pollution
# kind + 5 % of the good labelled, rules silenced, unlabelled pollution kept: 4 comps 1/25,
# 8 comps 9/25, 12 comps 11/25; no good crop lost in any).
MIN_COMPONENTS, MAX_COMPONENTS, LABELS_PER_COMPONENT = 2, 16, 8
PRIOR_SD = 1.0  # a one-sd move along a whitened component shifts the log-odds ~1 a priori
REACH = 2.0  # the shift is whole up to REACH × the labels' own nearest-neighbour distance
PCA_SAMPLE = 5000  # rows the projection is fitted on
# Cost at 100,000 crops (dev-cpu, 2 cores shared with other jobs): few_label 1.4 s with 14
# labels, 4.8 s with 150 (leave-one-out); train on 1,000 labels 1.7 s, predict 4.0 s; the
# JSON model of 1,000 labels is 309 kB. Off the click path (the catalog's background rescorer).
LOO_MAX = 200  # leave-one-out accuracy up to this many labels, 10-fold beyond


def labels_digest(shas: list[str], labels: list[str | None]) -> str:
    pairs = sorted(f"{s}:{lab}" for s, lab in zip(shas, labels, strict=True) if lab)
    return hashlib.sha256("\n".join(pairs).encode()).hexdigest()


def feature_matrix(features: list) -> np.ndarray:
    """(N, D) float64; rows of another length (crops cataloged by an older version) or None
    are NaN: they get no learned shift, only the rules."""
    x = np.full((len(features), FEATURE_LENGTH), np.nan)
    for i, f in enumerate(features):
        if f is not None and len(f) == FEATURE_LENGTH:
            x[i] = np.asarray(f, dtype=np.float64)
    return x


def design_matrix(features: list, cat: list, disagree: list, rule: list) -> np.ndarray:
    """Filter features plus cat, disagree and the rule probability (last column: the offset)."""
    extra = np.array([[bool(c), bool(d), r or 0.0] for c, d, r in zip(cat, disagree, rule,
                                                                      strict=True)], np.float64)
    return np.hstack([feature_matrix(features), extra.reshape(len(features), 3)])


def signal_matrix(*columns: list) -> np.ndarray:
    """(N, len(columns)) booleans of the rule signals, in SIGNALS order (None is False)."""
    return np.array([[bool(v) for v in row] for row in zip(*columns, strict=True)],
                    dtype=bool).reshape(len(columns[0]) if columns else 0, len(columns))


def rule_updates(prior: np.ndarray, labelled: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """How much the labels move each rule, in log-odds: the posterior mean of a Beta prior at
    the rule's calibrated probability (PRIOR_STRENGTH pseudo-labels) updated with the labelled
    crops it alone fired on, against that prior. A few accepts on crops a rule rejected lower its
    weight for the whole workspace, which rescues its other victims (the cat cascades fire on
    defocused drawings the blur rule already rejects: those rejects taught "cat = polluted" and
    then rejected 6 sharp anime crops the cat rule hit, hence "alone"). The base rate of crops
    no rule fired on is not learned here: labels come from the review queue, not at random; the
    learned shift is what moves those."""
    fired_all = prior[labelled] > 0
    alone = fired_all.sum(axis=1) == 1
    out = {}
    for k, name in enumerate(SIGNALS):
        fired = fired_all[:, k] & alone  # where another rule fired too, the label explains neither
        if not fired.any():
            out[name] = 0.0
            continue
        p0 = float(prior[labelled][fired, k].mean())
        post = (PRIOR_STRENGTH * p0 + y[fired].sum()) / (PRIOR_STRENGTH + fired.sum())
        out[name] = float(evidence.logit(post) - evidence.logit(p0))
    return out


def updated_prior(prior: np.ndarray, updates: dict[str, float]) -> np.ndarray:
    """The calibrated rule probabilities moved by the labels' `rule_updates` (0 stays 0)."""
    shift = np.array([updates.get(name, 0.0) for name in SIGNALS])
    moved = 1 / (1 + np.exp(-(evidence.logit(np.maximum(prior, 1e-6)) + shift)))
    return np.where(prior > 0, moved, 0.0)


def offsets(prior: np.ndarray, lift: np.ndarray, updates: dict[str, float] | None = None) -> np.ndarray:
    """The log-odds the learned shift starts from: the rules (moved by the labels) plus the
    atypicality lift."""
    moved = updated_prior(prior, updates) if updates else prior
    return evidence.logit(evidence.combine(moved)) + lift


def components_for(labels: int) -> int:
    return int(np.clip(labels // LABELS_PER_COMPONENT, MIN_COMPONENTS, MAX_COMPONENTS))


def fit_projection(x: np.ndarray, k: int = MAX_COMPONENTS, sample: int = PCA_SAMPLE) -> dict:
    """Standardise, then the top-k principal components scaled to unit variance (JSON-able),
    from at most `sample` rows (a fixed random subset: the SVD stays cheap at 100k crops)."""
    idx = np.arange(len(x))
    if len(x) > 2 * sample:  # sample before checking: no full-size temporaries at 100k crops
        idx = np.sort(np.random.default_rng(0).choice(len(x), 2 * sample, replace=False))
    rows = x[idx][np.isfinite(x[idx]).all(axis=1)]
    if len(rows) > sample:
        rows = rows[np.random.default_rng(0).choice(len(rows), sample, replace=False)]
    if len(rows) < 2:
        return {"mean": [], "scale": [], "components": [], "sdev": []}
    mean, scale = rows.mean(0), rows.std(0) + 1e-6
    if x.shape[1] == FEATURE_LENGTH:  # equal variance per group: 324 HOG values would swamp
        scale = scale * np.repeat(np.sqrt(FEATURE_GROUPS), FEATURE_GROUPS)  # 9 style ones
    z = (rows - mean) / scale
    z -= z.mean(0)
    # Eigenvectors of the (D, D) covariance: 0.1 s where the SVD of 5,000 × 408 took 12 s.
    var, vec = np.linalg.eigh(z.T @ z / max(len(rows) - 1, 1))
    top = np.argsort(var)[::-1][:int(min(k, len(rows) - 1, len(var)))]
    sdev = np.sqrt(np.maximum(var[top], 0)) + 1e-6
    return {"mean": mean.tolist(), "scale": scale.tolist(), "components": vec[:, top].T.tolist(),
            "sdev": sdev.tolist()}


def project(proj: dict, x: np.ndarray) -> np.ndarray:
    """(N, k) whitened components; rows with NaN features project to 0 (the rules alone)."""
    if not proj["components"]:
        return np.zeros((len(x), 0))
    # ((x − mean) / scale) · Cᵀ / sdev without an (N, D) temporary
    m = (np.asarray(proj["components"]) / np.asarray(proj["scale"])).T / np.asarray(proj["sdev"])
    z = x @ m - np.asarray(proj["mean"]) @ m
    return np.where(np.isfinite(z), z, 0.0)


def fit_shift(z: np.ndarray, offset: np.ndarray, y: np.ndarray) -> dict:
    """Posterior (Laplace) of w in p = σ(offset + z·w), w ~ N(0, PRIOR_SD² I): its mode by
    Newton's method with step halving, and the covariance there."""
    k = z.shape[1]
    if k == 0:  # no usable features (e.g. crops cataloged before them): the rules alone
        return {"w": np.zeros(0), "cov": np.zeros((0, 0)), "z": z, "reach": 1.0}
    prec0 = np.eye(k) / PRIOR_SD**2
    w = np.zeros(k)

    def log_post(w):
        a = offset + z @ w
        return float((y * a - np.logaddexp(0, a)).sum() - 0.5 * w @ prec0 @ w)

    for _ in range(100):
        p = 1 / (1 + np.exp(-(offset + z @ w)))
        hess = prec0 + (z * (p * (1 - p))[:, None]).T @ z
        step = np.linalg.solve(hess, z.T @ (y - p) - prec0 @ w)
        t, before = 1.0, log_post(w)
        while log_post(w + t * step) < before and t > 1e-4:
            t /= 2
        w = w + t * step
        if np.abs(t * step).max() < 1e-7:
            break
    p = 1 / (1 + np.exp(-(offset + z @ w)))
    hess = prec0 + (z * (p * (1 - p))[:, None]).T @ z
    return {"w": w, "cov": np.linalg.inv(hess), "z": z, "reach": _reach(z)}


def _reach(z: np.ndarray) -> float:
    """How far from a label the shift is trusted: the median distance of a labelled crop to
    its nearest other label (√k, the spread of two random crops, with fewer than 3 labels)."""
    if len(z) < 3:
        return math.sqrt(max(z.shape[1], 1))
    sq = (z * z).sum(1)
    d2 = sq[:, None] + sq[None] - 2 * z @ z.T  # (L, L) without an (L, L, k) temporary
    np.fill_diagonal(d2, np.inf)
    return float(max(np.sqrt(max(np.median(d2.min(1)), 0.0)), 1e-3))


def _nearest_label(fit: dict, z: np.ndarray, batch: int = 4096) -> np.ndarray:
    out = np.full(len(z), np.inf)
    for s in range(0, len(z) if len(fit["z"]) else 0, batch):
        zs = z[s:s + batch]
        d2 = (zs * zs).sum(1)[:, None] + (fit["z"] ** 2).sum(1)[None] - 2 * zs @ fit["z"].T
        out[s:s + batch] = np.sqrt(np.maximum(d2.min(1), 0))
    return out


def shifted(fit: dict, z: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """σ(offset + moderated shift): the learned shift z·w scaled by 1/√(1 + π·var/8)
    (MacKay's approximation) and by nearness to a label, so where the shift is uncertain (few
    labels, or a crop unlike the labelled ones) the probability stays near the rules'."""
    var = np.einsum("ij,jk,ik->i", z, fit["cov"], z)
    # A linear shift extrapolates: much farther from every label than labels are from each
    # other, it fades (by (REACH · reach / distance)²) and the rules decide.
    near = np.minimum(1.0, (REACH * fit["reach"] / np.maximum(_nearest_label(fit, z), 1e-9)) ** 2)
    logit = offset + near * (z @ fit["w"]) / np.sqrt(1 + np.pi * var / 8)
    return 1 / (1 + np.exp(-np.clip(logit, -50, 50)))


def _fit_predict(z, prior, lift, labelled, y, rows) -> np.ndarray:
    """Fit on `labelled` (indices into z) and predict `rows`."""
    updates = rule_updates(prior, labelled, y)
    fit = fit_shift(z[labelled], offsets(prior[labelled], lift[labelled], updates), y)
    return shifted(fit, z[rows], offsets(prior[rows], lift[rows], updates))


def _cv_hits(z, prior, lift, labelled, y, threshold: float, seed: int = 0) -> tuple[int, int]:
    """Leave-one-out (10-fold beyond LOO_MAX labels): correct predictions, folds."""
    n = len(labelled)
    folds = np.arange(n) if n <= LOO_MAX else np.random.default_rng(seed).permutation(n) % 10
    hits = 0
    for f in np.unique(folds):
        test, rest = folds == f, folds != f
        p = _fit_predict(z, prior, lift, labelled[rest], y[rest], labelled[test])
        hits += int(((p >= threshold) == y[test].astype(bool)).sum())
    return hits, len(np.unique(folds))


def few_label(features, prior: np.ndarray, lift: np.ndarray, labelled: np.ndarray, y: np.ndarray,
              threshold: float = 0.5) -> tuple[dict, np.ndarray]:
    """The filter from any number of labels: (JSON-able summary, probability of every crop).

    `features` are the crops' `filter_features` (a list, or an (N, D) array); `prior` and `lift`
    the unlabelled evidence (`curation.evidence`: calibrated rule probabilities, atypicality)."""
    x = feature_matrix(list(features)) if not isinstance(features, np.ndarray) else features
    labelled, y = np.asarray(labelled, dtype=np.int64), np.asarray(y, dtype=np.int64)
    prior, lift = np.asarray(prior, dtype=np.float64), np.asarray(lift, dtype=np.float64)
    # (N, k) from all crops, labelled or not: the representation is learned without labels.
    z = project(fit_projection(x, components_for(len(labelled))), x)
    p = _fit_predict(z, prior, lift, labelled, y, np.arange(len(x)))
    hits, folds = _cv_hits(z, prior, lift, labelled, y, threshold) if len(labelled) else (0, 0)
    counts = np.bincount(y, minlength=2)
    updates = rule_updates(prior, labelled, y)
    model = {
        "kind": "few-label" if counts.min() < LR_MIN_PER_CLASS else "bayes-logistic",
        "rule_updates": {k: round(v, 4) for k, v in updates.items() if v},
        "cv_accuracy": hits / max(len(labelled), 1), "cv_hits": hits, "cv_folds": folds,
        "labels": {"accept": int(counts[0]), "reject": int(counts[1])},
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return model, p


def train(x: np.ndarray, y: np.ndarray, seed: int = 0) -> dict | None:
    """The many-label filter on labelled rows of `design_matrix` (its last column, the rule
    probability, is the offset): the same model, projection fitted on these rows."""
    counts = np.bincount(y, minlength=2)
    if counts.min() < LR_MIN_PER_CLASS:
        return None
    feats, offset = x[:, :-3], evidence.logit(x[:, -1])
    proj = fit_projection(feats, components_for(len(y)))
    z = project(proj, feats)
    folds = np.random.default_rng(seed).permutation(len(y)) % int(min(5, counts.min()))
    hits = 0
    for f in np.unique(folds):
        fit = fit_shift(z[folds != f], offset[folds != f], y[folds != f])
        hits += int(((shifted(fit, z[folds == f], offset[folds == f]) >= 0.5)
                     == y[folds == f].astype(bool)).sum())
    fit = fit_shift(z, offset, y)
    return {
        "kind": "logistic", "projection": proj, "w": fit["w"].tolist(), "cov": fit["cov"].tolist(),
        "z": fit["z"].round(4).tolist(), "reach": fit["reach"],
        "cv_accuracy": hits / len(y), "cv_hits": hits, "cv_folds": len(np.unique(folds)),
        "labels": {"accept": int(counts[0]), "reject": int(counts[1])},
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def predict(model: dict, x: np.ndarray) -> np.ndarray:
    """Pollution probability of each row of `design_matrix` under a `train` model."""
    fit = {"w": np.asarray(model["w"]), "cov": np.asarray(model["cov"]),
           "z": np.asarray(model["z"]).reshape(-1, len(model["w"])), "reach": model["reach"]}
    return shifted(fit, project(model["projection"], x[:, :-3]), evidence.logit(x[:, -1]))
