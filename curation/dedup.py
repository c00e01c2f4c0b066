"""Exact and near-duplicate grouping of crops.

Two crops are linked when (a) their perceptual hashes are within a Hamming distance (a crop
against the other crop and its mirror image; multi-index hashing with a vectorised XOR + popcount
check, numpy releases the GIL so a thread per core scales) AND their embeddings agree, or (b)
their source images are near-identical (whole-image pHash, mirror too) and the face boxes
overlap there: a re-encoded copy can make the detector box shift by ~10 %, which moves the crop
too far for any crop-level threshold that keeps distinct faces apart. Groups are connected
components (union-find); the best member (largest source face, then quality) is kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

ROWS, COLS = 256, 16384  # tile of the all-pairs comparison (32 MiB of uint64)
# Copies of one picture whose faces differ by more than this many grey levels in their most
# changed place are other expressions, not copies (bench/expressions.py: the midpoint between
# the largest copy and the smallest expression difference of Ren'Py's Sylvie, 6.6 and 14.1).
EXPRESSION_DIFFERENCE = 10.0


def hamming_pairs(hashes: np.ndarray, queries: Sequence[np.ndarray] | None = None,
                  max_distance: int = 6, workers: int = 2) -> np.ndarray:
    """Index pairs (i, j), i < j, with popcount(queries[k][i] ^ hashes[j]) <= max_distance for
    some k (or the same with i and j swapped). `hashes` is uint64 (N,); each query array (e.g.
    the mirrored hashes) is aligned with it.

    Multi-index hashing: split 64 bits into four 16-bit chunks; two hashes within 7 bits agree
    on some chunk up to one bit, so each chunk is looked up exactly and with each single bit
    flipped (17 probes) in a sorted table and only those candidates are checked in full.
    """
    hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
    queries = [hashes] if queries is None else [np.asarray(q, dtype=np.uint64) for q in queries]
    if max_distance > 7:
        return _brute_pairs(hashes, queries, max_distance, workers)
    probes = [np.uint64(0)] + [np.uint64(1 << b) for b in range(16)]

    def chunk(c: int) -> np.ndarray:
        keys = (hashes >> np.uint64(16 * c)) & np.uint64(0xFFFF)
        order = np.argsort(keys, kind="stable")
        table = keys[order]
        found = []
        for q in queries:
            qkeys = (q >> np.uint64(16 * c)) & np.uint64(0xFFFF)
            for flip in probes:
                k = qkeys ^ flip
                lo = np.searchsorted(table, k, "left")
                cnt = np.searchsorted(table, k, "right") - lo
                total = int(cnt.sum())
                if not total:
                    continue
                qi = np.repeat(np.arange(len(q)), cnt)
                offs = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
                cand = order[np.repeat(lo, cnt) + offs]
                ok = (np.bitwise_count(q[qi] ^ hashes[cand]) <= max_distance) & (qi != cand)
                found.append(np.stack([np.minimum(qi[ok], cand[ok]), np.maximum(qi[ok], cand[ok])], 1))
        return np.concatenate(found) if found else np.empty((0, 2), np.int64)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = [p for p in pool.map(chunk, range(4)) if len(p)]
    return np.unique(np.concatenate(parts), axis=0) if parts else np.empty((0, 2), np.int64)


def _brute_pairs(hashes: np.ndarray, queries: Sequence[np.ndarray], max_distance: int,
                 workers: int) -> np.ndarray:
    """All-pairs XOR + popcount in tiles (for distances multi-index hashing cannot cover)."""
    n = len(hashes)

    def block(start: int) -> np.ndarray:
        stop = min(n, start + ROWS)
        found = []
        for q in queries:
            for col in range(0, n, COLS):
                d = np.bitwise_count(q[start:stop, None] ^ hashes[None, col:col + COLS])
                i, j = np.nonzero(d <= max_distance)
                i, j = i + start, j + col
                ok = i != j
                found.append(np.stack([np.minimum(i[ok], j[ok]), np.maximum(i[ok], j[ok])], 1))
        return np.concatenate(found) if found else np.empty((0, 2), np.int64)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = [p for p in pool.map(block, range(0, n, ROWS)) if len(p)]
    return np.unique(np.concatenate(parts), axis=0) if parts else np.empty((0, 2), np.int64)


def hash_pairs(hash_sets: dict[str, np.ndarray], max_distance: int, workers: int = 2) -> np.ndarray:
    """Near-duplicate pairs from pHash and dHash (each also against the mirror image)."""
    found = []
    for name in ("phash", "dhash"):
        if name in hash_sets and len(hash_sets[name]):
            found.append(hamming_pairs(hash_sets[name], [hash_sets[name], hash_sets[name + "_flip"]],
                                       max_distance, workers))
    return np.unique(np.concatenate(found), axis=0) if found else np.empty((0, 2), np.int64)


def connected_groups(n: int, pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Connected components with more than one member (union-find with path halving)."""
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in pairs:
        ra, rb = find(int(a)), find(int(b))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return [g for g in groups.values() if len(g) > 1]


def best_member(members: Sequence[int], face_px: Sequence[float], quality: Sequence[float],
                eligible: Sequence[bool] | None = None) -> int:
    """The member to keep: eligible ones first, then the largest source face, then quality."""
    return max(members, key=lambda i: (bool(eligible[i]) if eligible is not None else True,
                                       face_px[i], quality[i], -i))


def confirmed_pairs(pairs: np.ndarray, embeddings: np.ndarray, max_cosine: float) -> np.ndarray:
    """The hash pairs whose (unit-norm) embeddings are also within `max_cosine` distance.

    Hashes alone merge distinct faces at 5-7 bits (64-bit hashes of similar 128-px faces
    collide); requiring both keeps near copies and drops those (bench/dedup.py measures both).
    """
    if not len(pairs):
        return pairs
    cos = 1 - np.einsum("ij,ij->i", embeddings[pairs[:, 0]], embeddings[pairs[:, 1]])
    return pairs[cos <= max_cosine]


def source_pairs(src_hash: np.ndarray, src_hash_flip: np.ndarray, boxes: np.ndarray,
                 sizes: np.ndarray, max_distance: int, min_iou: float,
                 workers: int = 2) -> np.ndarray:
    """Crop pairs whose source images are near-identical (pHash, also mirrored) and whose face
    boxes, in image-relative coordinates (mirrored when the images are), overlap by `min_iou`.

    `src_hash`/`src_hash_flip`: uint64 per crop (equal for crops of one image); `boxes`: (N, 4)
    x, y, w, h in source pixels; `sizes`: (N, 2) source width, height.
    """
    src_hash = np.asarray(src_hash, dtype=np.uint64)
    src_hash_flip = np.asarray(src_hash_flip, dtype=np.uint64)
    uniq, first, inverse = np.unique(src_hash, return_index=True, return_inverse=True)
    members: dict[int, list[int]] = {}
    for crop, u in enumerate(inverse.tolist()):
        members.setdefault(u, []).append(crop)
    rel = np.asarray(boxes, np.float64) / np.tile(np.asarray(sizes, np.float64), 2)
    same = np.repeat(np.arange(len(uniq))[:, None], 2, 1)  # crops of one image: boxes decide
    none = np.empty((0, 2), np.int64)
    linked = [
        (False, np.vstack([hamming_pairs(uniq, [uniq], max_distance, workers)
                           if len(uniq) > 1 else none, same])),
        # An image against the other's mirror (never against its own: symmetric images).
        (True, hamming_pairs(uniq, [src_hash_flip[first]], max_distance, workers)
         if len(uniq) > 1 else none),
    ]
    found = []
    for flip, image_pairs in linked:
        for a, b in image_pairs.tolist():
            for i in members[a]:
                for j in members[b]:
                    if a == b and i >= j:
                        continue
                    box = rel[j].copy()
                    if flip:
                        box[0] = 1 - box[0] - box[2]
                    if _iou(rel[i], box) >= min_iou:
                        found.append((min(i, j), max(i, j)))
    if not found:
        return np.empty((0, 2), np.int64)
    return np.unique(np.array(found, dtype=np.int64), axis=0)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter) if inter else 0.0



def face_difference(a: np.ndarray, box, b: np.ndarray, side: int = 64) -> float:
    """How much two copies of one picture differ at the face `box` of `a`, in grey levels: the
    99th percentile of the smoothed absolute difference there, `b` resized to `a`'s size (and
    mirrored, whichever matches better). Both are the whole picture, so they line up by
    construction: a re-encoded, resized or mirrored copy differs by a few levels, another
    expression (eyes closed, mouth open) by more where the face changed."""
    import cv2

    h, w = a.shape[:2]
    b = cv2.resize(b, (w, h), interpolation=cv2.INTER_AREA)
    x, y, fw, fh = (int(v) for v in box)
    s = max(8, int(1.5 * max(fw, fh)))
    x0, y0 = max(0, x + fw // 2 - s // 2), max(0, y + fh // 2 - s // 2)

    def face(img: np.ndarray) -> np.ndarray:
        grey = cv2.cvtColor(np.ascontiguousarray(img[y0:y0 + s, x0:x0 + s]), cv2.COLOR_RGB2GRAY)
        return cv2.resize(grey, (side, side), interpolation=cv2.INTER_AREA).astype(np.float32)

    fa = face(a)
    return min(float(np.percentile(cv2.blur(np.abs(fa - face(img)), (5, 5)), 99))
               for img in (b, b[:, ::-1]))


def same_place(pairs: np.ndarray, boxes, sizes, min_iou: float = 0.5) -> np.ndarray:
    """Which pairs are crops of the same place of two pictures of the same shape (aspect ratios
    within 2 %, boxes overlapping by `min_iou` in picture-relative coordinates, mirrored or
    not): the pairs `face_difference` can compare. Unknown sizes or boxes: False."""
    out = np.zeros(len(pairs), dtype=bool)
    for k, (i, j) in enumerate(np.asarray(pairs).tolist()):
        if not (boxes[i] and boxes[j] and sizes[i] and sizes[j]):
            continue
        (wi, hi), (wj, hj) = sizes[i], sizes[j]
        if abs(wi / hi - wj / hj) > 0.02 * wi / hi:
            continue
        a = np.asarray(boxes[i], np.float64) / [wi, hi, wi, hi]
        b = np.asarray(boxes[j], np.float64) / [wj, hj, wj, hj]
        mirrored = np.array([1 - b[0] - b[2], b[1], b[2], b[3]])
        out[k] = max(_iou(a, b), _iou(a, mirrored)) >= min_iou
    return out


def split_expressions(pairs: np.ndarray, boxes, load, max_difference: float,
                      comparable: np.ndarray | None = None, limit: int = 2000) -> np.ndarray:
    """The linked pairs that are copies, without those whose faces differ by more than
    `max_difference` (other expressions of one picture). `load(i)` gives the source picture of
    crop i and the scale it was loaded at (None: unreadable, the link stands); `boxes` are in
    source pixels; only the `comparable` pairs (default all: `same_place`) are tested, the others
    stand. Past `limit` tested pairs the rest stand unchecked."""
    if not len(pairs):
        return pairs
    comparable = np.ones(len(pairs), bool) if comparable is None else np.asarray(comparable, bool)
    cache: dict[int, tuple[np.ndarray, float] | None] = {}

    def source(i: int) -> tuple[np.ndarray, float] | None:
        if i not in cache:
            cache[i] = load(i)
        return cache[i]

    keep = np.ones(len(pairs), dtype=bool)
    for k in np.flatnonzero(comparable)[:limit]:
        i, j = (int(v) for v in pairs[k])
        a, b = source(i), source(j)
        if a is not None and b is not None:
            box = np.asarray(boxes[i], np.float64) * a[1]
            keep[k] = face_difference(a[0], box, b[0]) <= max_difference
    return pairs[keep]
