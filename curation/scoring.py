"""Pollution probabilities of every crop: the rules alone until the first label, the few-label
filter from there, the many-label logistic filter once each class has LR_MIN_PER_CLASS labels.

`score` works on plain columns (testable without a catalog); `update_pollution` reads them
from the catalog, keeps the trained filter in its record and writes the scores back;
`accuracy_summary` states the filter's cross-validated accuracy honestly (Wilson interval, chance).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np

from curation import evidence, filter_model
from curation.catalog.columns import read_vectors, write_columns
from curation.catalog.info import CatalogInfo, update_info
from curation.config import CurateConfig
from curation.pollution import SIGNALS

log = logging.getLogger(__name__)


def filter_kind(labels: list[str | None]) -> str:
    """"rules" (no labels), "few-label", or "logistic" (enough labels of both kinds)."""
    y = np.array([lab == "reject" for lab in labels if lab], dtype=np.int64)
    if not len(y):
        return "rules"
    return "logistic" if np.bincount(y, minlength=2).min() >= filter_model.LR_MIN_PER_CLASS else "few-label"


def score(shas: list[str], labels: list[str | None], prior: np.ndarray, lift: np.ndarray,
          features: Callable[[], list], design: Callable[[np.ndarray], np.ndarray],
          previous: dict | None, threshold: float, force: bool = False) -> tuple[dict | None, np.ndarray]:
    """(the filter, the pollution probability of every crop). `prior` and `lift` are the
    unlabelled evidence (`curation.evidence`); the callables give the columns only the chosen
    filter reads (the features; the design matrix, given the unlabelled probabilities);
    `previous` is the filter from the last time, kept when the labels did not change."""
    unlabelled = evidence.unlabelled_pollution(prior, lift)
    labelled = np.array([k for k, lab in enumerate(labels) if lab], dtype=np.int64)
    y = np.array([labels[k] == "reject" for k in labelled], dtype=np.int64)
    kind = filter_kind(labels)
    if kind == "rules":
        return None, unlabelled
    digest = filter_model.labels_digest(shas, labels)
    same_labels = bool(previous) and previous.get("digest") == digest
    if kind == "logistic":
        x = design(unlabelled)
        model = previous
        if force or not same_labels or previous.get("kind") != "logistic":
            model = {**filter_model.train(x[labelled], y), "digest": digest}
            log.info("pollution filter retrained: cv accuracy %.3f", model["cv_accuracy"])
        return model, filter_model.predict(model, x)
    model, p = filter_model.few_label(features(), prior, lift, labelled, y, threshold)
    model["digest"] = digest
    if same_labels:  # not retrained in substance: the pipeline sees the same trained_at
        model["trained_at"] = previous.get("trained_at")
    return model, p


def unlabelled_evidence(dataset, info: CatalogInfo | None = None) -> tuple[np.ndarray, np.ndarray, list]:
    """(calibrated rule probabilities (N, S), atypicality (N,), per-source rule statistics)
    of every crop, in the catalog's order."""
    info = info or CatalogInfo.load(dataset)
    domains, atypical, *columns = dataset.values(["domain", "atypicality", *SIGNALS])
    prior, stats = evidence.calibrate(filter_model.signal_matrix(*columns), domains, info.rules_off)
    return prior, np.array([np.nan if a is None else a for a in atypical], dtype=np.float64), stats


def update_atypicality(dataset) -> None:
    """How atypical each crop is among the workspace's crops (`curation.evidence.atypicality`),
    in the projection of the filter's own features; written where it moved by more than 0.05."""
    ids, vectors = read_vectors(dataset, "features")
    if not ids:
        return
    x = filter_model.feature_matrix(vectors)
    z = filter_model.project(filter_model.fit_projection(x), x)
    score = [None if not np.isfinite(v) else round(float(v), 3) for v in evidence.atypicality(z)]
    write_columns(dataset, ids, {"atypicality": score},
                  old={"atypicality": dataset.values("atypicality")},  # read_vectors' order too
                  tolerance=0.05)


def update_pollution(dataset, cfg: CurateConfig, force: bool = False,
                     info: CatalogInfo | None = None) -> dict | None:
    """Score every crop of the catalog and store the filter; returns the filter (None: rules).
    `info`: the catalog's record, when the caller has read it already (one read per rescore)."""
    ids, shas, labels, cat, disagree = dataset.values(["id", "sha256", "human_label", "cat", "disagree"])
    if not ids:
        return None
    info = info or CatalogInfo.load(dataset)
    prior, atypical, _ = unlabelled_evidence(dataset, info)
    lift = evidence.atypical_lift(atypical)

    def features() -> list:
        return read_vectors(dataset, "features")[1]

    model, p = score(
        shas, labels, prior, lift, features,
        design=lambda unlabelled: filter_model.design_matrix(features(), cat, disagree, unlabelled),
        previous=info.pollution_filter, threshold=cfg.pollution_threshold, force=force)
    update_info(dataset, pollution_filter=model)
    source = model["kind"] if model else "rules"
    unlabelled = evidence.unlabelled_pollution(prior, lift)
    cause = evidence.main_cause(prior, atypical, evidence.logit(p) - evidence.logit(unlabelled)
                                if model else None)
    p = p.round(4)
    fields = ("pollution", "certainty", "pollution_source", "rule_pollution", "pollution_cause")
    old = dict(zip(fields, dataset.values(list(fields)), strict=True))
    # Only the crops whose score moved by more than 0.01 are written: the pages show two
    # decimals, and one label moves few crops that far (each write costs ≈0.3 ms here).
    write_columns(dataset, ids, {"pollution": p.tolist(),
                                 "certainty": np.abs(p - cfg.pollution_threshold).round(4).tolist(),
                                 "pollution_source": [source] * len(ids),
                                 "rule_pollution": unlabelled.round(4).tolist(),
                                 "pollution_cause": cause},
                  old=old, tolerance=0.01)
    return model


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def accuracy_summary(model: dict | None) -> dict:
    """What the Label page shows: cross-validated accuracy, its 95 % interval, the chance
    level (always answering the majority label) and whether the filter beats chance or, with
    the whole interval under it, does worse (`below_chance`)."""
    if not model or not model.get("cv_folds"):
        return {"accuracy": None, "low": None, "high": None, "chance": None, "labels": 0,
                "beats_chance": False, "below_chance": False,
                "text": "no labels yet: the rules alone score crops"}
    counts = model["labels"]
    n = counts["accept"] + counts["reject"]
    hits = model.get("cv_hits", round(model["cv_accuracy"] * n))
    low, high = wilson(hits, n)
    chance = max(counts["accept"], counts["reject"]) / n
    beats, below = low > chance, high < chance  # the whole interval above / below chance
    verdict = ("" if beats else
               " — below chance: worse than that so far; label more, and check the labels"
               if below else
               " — below it, but not yet distinguishable from it: label more"
               if hits / n < chance else " — not yet distinguishable from that: label more")
    text = (f"filter accuracy {hits}/{n} = {hits / n:.0%} (95 % interval {low:.0%}–{high:.0%}); "
            f"always answering the commoner label scores {chance:.0%}{verdict}")
    return {"accuracy": hits / n, "low": low, "high": high, "chance": chance, "labels": n,
            "beats_chance": beats, "below_chance": below, "text": text}
