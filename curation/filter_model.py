"""The learned pollution filter, trained on the user's labels (reject = polluted).

Few labels (fewer than LR_MIN_PER_CLASS of either kind, from the very first one): the rule
probabilities with each rule's reliability re-estimated from the labels (a Beta prior at the
rule's default), blended with a vote of the nearest labelled crops by embedding. So five
accepted crops the cat rule fired on teach that the cat rule is wrong here, and a rejected
masked face makes the crops that look like it suspect. Enough labels: logistic regression on
our own crop features. No downloaded weights; the model is JSON in the catalog
(`dataset.info`), so nothing is ever unpickled."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import numpy as np

INFO_KEY = "pollution_filter"
LR_MIN_PER_CLASS = 10  # from this many labels of each kind: logistic regression on all features
SIGNALS = ("cat", "disagree", "occluded")  # the rule signals, as in curation.pollution
# The few-label scheme. Set a priori from what the numbers mean, not fitted to a test set:
NEIGHBOURS = 5  # the labelled crops nearest by embedding vote on a crop
TAU = 0.25  # a vote at cosine distance d weighs exp(-d / TAU): 1 at d=0, 0.67 for a near copy
#             (d <= 0.1), 0.13 for an unrelated face (d ~ 0.5)
RULE_WEIGHT = 1.0  # the rule probability weighs as much as one labelled crop at distance 0
PRIOR_STRENGTH = 2.0  # each rule's default probability counts as this many labels


def labels_digest(shas: list[str], labels: list[str | None]) -> str:
    pairs = sorted(f"{s}:{lab}" for s, lab in zip(shas, labels, strict=True) if lab)
    return hashlib.sha256("\n".join(pairs).encode()).hexdigest()


def design_matrix(features: list, cat: list, disagree: list, rule: list) -> np.ndarray:
    """Filter features plus the rule signals (so the model can learn how far to trust them)."""
    x = np.stack([np.asarray(f, dtype=np.float32) for f in features])
    extra = np.array([[bool(c), bool(d), r or 0.0] for c, d, r in zip(cat, disagree, rule,
                                                                      strict=True)], np.float32)
    return np.hstack([x, extra])


def train(x: np.ndarray, y: np.ndarray, seed: int = 0) -> dict | None:
    """Fit on labelled crops; returns the JSON-able model with its cross-validated accuracy."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    counts = np.bincount(y, minlength=2)
    if counts.min() < LR_MIN_PER_CLASS:
        return None
    # Rejections are usually the minority; balanced weights keep the filter from ignoring them.
    make = lambda: make_pipeline(StandardScaler(),  # noqa: E731
                                 LogisticRegression(C=0.05, class_weight="balanced", max_iter=2000))
    folds = StratifiedKFold(n_splits=int(min(5, counts.min())), shuffle=True, random_state=seed)
    cv = cross_val_score(make(), x, y, cv=folds, scoring="accuracy")
    model = make().fit(x, y)
    scaler, lr = model[0], model[1]
    return {
        "kind": "logistic",
        "mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist(),
        "coef": lr.coef_[0].tolist(), "intercept": float(lr.intercept_[0]),
        "cv_accuracy": float(cv.mean()), "cv_folds": int(folds.n_splits),
        "labels": {"accept": int(counts[0]), "reject": int(counts[1])},
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def predict(model: dict, x: np.ndarray) -> np.ndarray:
    """Pollution probability of each row of `x`."""
    z = (x - np.asarray(model["mean"])) / np.asarray(model["scale"])
    logits = z @ np.asarray(model["coef"]) + model["intercept"]
    return 1 / (1 + np.exp(-np.clip(logits, -50, 50)))


def signal_matrix(cat: list, disagree: list, occluded: list) -> np.ndarray:
    """(N, 3) booleans of the rule signals (None, from old catalogs, is False)."""
    return np.array([[bool(a), bool(b), bool(c)] for a, b, c in zip(cat, disagree, occluded,
                                                                    strict=True)], dtype=bool)


def signal_probabilities(signals: np.ndarray, labelled: np.ndarray, y: np.ndarray) -> dict:
    """Each rule's pollution probability given the labels: the posterior mean of a Beta prior
    at its default (PRIOR_STRENGTH pseudo-labels) updated with the labelled crops it fired on;
    `base` from the labelled crops no rule fired on."""
    from curation.pollution import P_BASE, P_CAT, P_DISAGREE, P_OCCLUDED

    defaults = dict(zip(SIGNALS, (P_CAT, P_DISAGREE, P_OCCLUDED), strict=True))
    sig = signals[labelled]
    quiet = ~sig.any(axis=1)
    out = {"base": float((PRIOR_STRENGTH * P_BASE + y[quiet].sum()) / (PRIOR_STRENGTH + quiet.sum()))}
    for k, name in enumerate(SIGNALS):
        fired = sig[:, k]
        out[name] = float((PRIOR_STRENGTH * defaults[name] + y[fired].sum())
                          / (PRIOR_STRENGTH + fired.sum()))
    return out


def rule_probabilities(signals: np.ndarray, probs: dict) -> np.ndarray:
    """Independent evidence, as curation.pollution.rule_probability, with these probabilities."""
    keep = np.full(len(signals), 1 - probs["base"])
    for k, name in enumerate(SIGNALS):
        keep *= np.where(signals[:, k], 1 - probs[name], 1.0)
    return 1 - keep


def _vote(rule_p: np.ndarray, dist: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Blend rule probabilities (N,) with the NEIGHBOURS nearest labelled crops; dist (N, L)."""
    k = min(NEIGHBOURS, dist.shape[1])
    near = np.argpartition(dist, k - 1, axis=1)[:, :k]
    d = np.take_along_axis(dist, near, 1)
    w = np.where(np.isfinite(d), np.exp(-np.where(np.isfinite(d), d, 0) / TAU), 0.0)
    return (RULE_WEIGHT * rule_p + (w * y[near]).sum(1)) / (RULE_WEIGHT + w.sum(1))


def few_label(emb: np.ndarray, signals: np.ndarray, labelled: np.ndarray, y: np.ndarray,
              threshold: float = 0.5) -> tuple[dict, np.ndarray]:
    """The few-label filter from any number of labels: (JSON-able summary, probabilities).

    Its accuracy is leave-one-out: each labelled crop predicted from all the other labels.
    """
    emb = np.asarray(emb, dtype=np.float64)
    probs = signal_probabilities(signals, labelled, y)
    dist = 1 - emb @ emb[labelled].T  # (N, L) cosine distances (embeddings are unit-norm)
    dist[labelled, np.arange(len(labelled))] = np.inf  # a crop never votes on itself
    p = _vote(rule_probabilities(signals, probs), dist, y)
    hits = 0
    for k in range(len(labelled)):
        rest = np.delete(np.arange(len(labelled)), k)
        pr = signal_probabilities(signals, labelled[rest], y[rest])
        rp = rule_probabilities(signals[labelled[k]:labelled[k] + 1], pr)
        pk = _vote(rp, dist[labelled[k]:labelled[k] + 1, rest], y[rest]) if len(rest) else rp
        hits += int((pk[0] >= threshold) == bool(y[k]))
    counts = np.bincount(y, minlength=2)
    model = {
        "kind": "few-label", "signal_probabilities": {k: round(v, 4) for k, v in probs.items()},
        "cv_accuracy": hits / len(labelled), "cv_folds": len(labelled),
        "labels": {"accept": int(counts[0]), "reject": int(counts[1])},
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return model, p
