"""The order of the review queue: uncertain crops first, but spread over the kinds of crop,
so that a few clicks see each kind of pollution instead of twenty near-copies of one.

Pure numpy, for the catalog's review queue: `diverse_order(certainty, embeddings)`.
"""

from __future__ import annotations

import numpy as np

POOL_FACTOR = 4  # the most uncertain POOL_FACTOR × n candidates (at least POOL_MIN) are spread
POOL_MIN = 64


def diverse_order(certainty: np.ndarray, embeddings: np.ndarray, n: int | None = None) -> np.ndarray:
    """Indices of the unlabelled candidates in review order.

    `certainty` (N,): |pollution − threshold|, small = unsure. `embeddings` (N, D): any
    representation where distance means "looks alike" (the filter's projected features, or the
    unit-norm thumbnails). Among the most uncertain candidates, an uncertainty-weighted
    farthest-point order: each next crop maximises (1 − 2·certainty) × distance to the crops
    already ordered, so one crop per cluster comes before the second of any; the rest follow
    by certainty. Returns the first `n` (all when None)."""
    certainty = np.asarray(certainty, dtype=np.float64)
    count = len(certainty)
    if count == 0:
        return np.empty(0, dtype=np.int64)
    emb = np.asarray(embeddings, dtype=np.float64).reshape(count, -1)
    by_certainty = np.argsort(certainty, kind="stable")
    want = count if n is None else min(n, count)
    pool = by_certainty[:min(count, max(POOL_MIN, POOL_FACTOR * want))]
    # Certainty |p − 0.5| is at most 0.5: weight 1 for a coin flip, 0.05 for a sure verdict
    # (a far-away crop the filter is sure about never jumps ahead of an unsure one).
    weight = np.clip(1 - 2 * certainty[pool], 0.05, 1.0)
    e = np.where(np.isfinite(emb[pool]), emb[pool], 0.0)
    order = [0]
    dist = np.linalg.norm(e - e[0], axis=1)
    chosen = np.zeros(len(pool), dtype=bool)
    chosen[0] = True
    while len(order) < min(want, len(pool)):
        score = np.where(chosen, -1.0, weight * dist)
        nxt = int(np.argmax(score))
        if score[nxt] <= 0:  # only exact copies left: by certainty
            nxt = int(np.flatnonzero(~chosen)[0])
        order.append(nxt)
        chosen[nxt] = True
        dist = np.minimum(dist, np.linalg.norm(e - e[nxt], axis=1))
    head = pool[order]
    if len(head) >= want:
        return head[:want]
    rest = by_certainty[~np.isin(by_certainty, head)]
    return np.concatenate([head, rest])[:want]
