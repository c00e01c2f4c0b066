"""The learned pollution filter: logistic regression on our own crop features, trained on the
user's labels (reject = polluted). No downloaded weights; the model is a few hundred numbers
kept as JSON in the catalog (`dataset.info`), so nothing is ever unpickled."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import numpy as np

INFO_KEY = "pollution_filter"
MIN_PER_CLASS = 3  # fewer labels of either kind: keep the rule-based probabilities


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
    if counts.min() < MIN_PER_CLASS:
        return None
    # Rejections are usually the minority; balanced weights keep the filter from ignoring them.
    make = lambda: make_pipeline(StandardScaler(),  # noqa: E731
                                 LogisticRegression(C=0.05, class_weight="balanced", max_iter=2000))
    folds = StratifiedKFold(n_splits=int(min(5, counts.min())), shuffle=True, random_state=seed)
    cv = cross_val_score(make(), x, y, cv=folds, scoring="accuracy")
    model = make().fit(x, y)
    scaler, lr = model[0], model[1]
    return {
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
