"""Exact and near-duplicate grouping of crops.

Two crops are linked when (a) their perceptual hashes are within a Hamming distance (a crop
against the other crop and its mirror image; multi-index hashing with a vectorised XOR + popcount
check, numpy releases the GIL so a thread per core scales) AND their embeddings agree, or (b)
their source images are near-identical (whole-image pHash, mirror too) and the face boxes
overlap there: a re-encoded copy can make the detector box shift by ~10 %, which moves the crop
too far for any crop-level threshold that keeps distinct faces apart. Groups are connected
components; the best member (largest source face, then quality) is kept.

A thousand near-identical crops are half a million linked pairs: every step over pairs is
vectorised (pairs deduplicated as one int64 key each, IoUs and distances as arrays), and the
expression test compares two pictures only while their crops are not joined yet (`copy_groups`),
with a bounded cache of pictures (bench/dedup.py, `near_identical`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

ROWS, COLS = 256, 16384  # tile of the all-pairs comparison (32 MiB of uint64)
# Copies of one picture whose faces differ by more than this many grey levels in their most
# changed place are other expressions, not copies (bench/expressions.py: the midpoint between
# the largest copy and the smallest expression difference of Ren'Py's Sylvie, 6.6 and 14.1).
EXPRESSION_DIFFERENCE = 10.0
EXPRESSION_TESTS = 2000  # the first this many comparable links are tested; the rest stand
PICTURES_CACHED = 64  # source pictures (<= 1024 px) kept while testing links: ~200 MB at most
PAIR_BLOCK = 65536  # pairs per block when gathering embeddings (65536 x 256 float64: 128 MiB)


def unique_pairs(parts: Sequence[np.ndarray], n: int) -> np.ndarray:
    """The distinct (i, j) rows of `parts` (indices below `n`), sorted: as np.unique(axis=0),
    through one int64 key per pair (a 1-D sort, not a sort of row records)."""
    parts = [np.asarray(p, np.int64).reshape(-1, 2) for p in parts]
    parts = [p for p in parts if len(p)]
    if not parts:
        return np.empty((0, 2), np.int64)
    keys = np.sort(np.concatenate([p[:, 0] * n + p[:, 1] for p in parts]))
    first = np.empty(len(keys), bool)  # np.unique's hash table is ~8x slower on millions
    first[0] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    keys = keys[first]
    return np.stack([keys // n, keys % n], 1)


def hamming_pairs(hashes: np.ndarray, queries: Sequence[np.ndarray] | None = None,
                  max_distance: int = 6, workers: int = 2) -> np.ndarray:
    """Index pairs (i, j), i < j, with popcount(queries[k][i] ^ hashes[j]) <= max_distance for
    some k (or the same with i and j swapped). `hashes` is uint64 (N,); each query array (e.g.
    the mirrored hashes) is aligned with it.

    Multi-index hashing: split 64 bits into four 16-bit chunks; two hashes within 7 bits agree
    on some chunk up to one bit, so each chunk is looked up exactly and with each single bit
    flipped (17 probes) in a sorted table and only those candidates are checked in full. A pair
    is kept by the first chunk that finds it only, and a query equal to `hashes` keeps i < j
    only (the distance is symmetric): near-identical crops are found once, not eight times.
    """
    hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
    queries = [hashes] if queries is None else [np.asarray(q, dtype=np.uint64) for q in queries]
    if max_distance > 7:
        return _brute_pairs(hashes, queries, max_distance, workers)
    probes = [np.uint64(0)] + [np.uint64(1 << b) for b in range(16)]
    mask = np.uint64(0xFFFF)
    symmetric = [np.array_equal(q, hashes) for q in queries]

    def chunk(c: int) -> np.ndarray:
        keys = (hashes >> np.uint64(16 * c)) & mask
        order = np.argsort(keys, kind="stable")
        table = keys[order]
        found = []
        for q, sym in zip(queries, symmetric, strict=True):
            qkeys = (q >> np.uint64(16 * c)) & mask
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
                x = q[qi] ^ hashes[cand]
                ok = np.flatnonzero((np.bitwise_count(x) <= max_distance)
                                    & ((qi < cand) if sym else (qi != cand)))
                qi, cand, x = qi[ok], cand[ok], x[ok]
                for earlier in range(c):  # found there already
                    new = np.bitwise_count((x >> np.uint64(16 * earlier)) & mask) > 1
                    qi, cand, x = qi[new], cand[new], x[new]
                found.append(np.stack([np.minimum(qi, cand), np.maximum(qi, cand)], 1))
        return found

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return unique_pairs([p for found in pool.map(chunk, range(4)) for p in found], len(hashes))


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
        return unique_pairs(found, n)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return unique_pairs(list(pool.map(block, range(0, n, ROWS))), n)


def hash_pairs(hash_sets: dict[str, np.ndarray], max_distance: int, workers: int = 2) -> np.ndarray:
    """Near-duplicate pairs from pHash and dHash (each also against the mirror image)."""
    found = []
    for name in ("phash", "dhash"):
        if name in hash_sets and len(hash_sets[name]):
            found.append(hamming_pairs(hash_sets[name], [hash_sets[name], hash_sets[name + "_flip"]],
                                       max_distance, workers))
    return unique_pairs(found, max((len(h) for h in hash_sets.values()), default=0))


def component_labels(n: int, pairs) -> np.ndarray:
    """The smallest member of each index's connected component (vectorised: hook each link's
    larger root under the smaller, then pointer jumping, until every link is settled)."""
    label = np.arange(n)
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    i, j = pairs[:, 0], pairs[:, 1]
    while len(i):
        li, lj = label[i], label[j]
        open_ = li != lj  # a settled link stays settled: both ends follow the same root
        i, j, li, lj = i[open_], j[open_], li[open_], lj[open_]
        if not len(i):
            break
        np.minimum.at(label, np.maximum(li, lj), np.minimum(li, lj))
        while True:
            jumped = label[label]
            if np.array_equal(jumped, label):
                break
            label = jumped
    return label


def _groups_of(label: np.ndarray) -> list[list[int]]:
    """Components of more than one member, each ascending, ordered by their smallest member."""
    order = np.argsort(label, kind="stable")
    cuts = np.flatnonzero(np.diff(label[order])) + 1
    return [g.tolist() for g in np.split(order, cuts) if len(g) > 1]


def connected_groups(n: int, pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Connected components with more than one member, each ascending, ordered by their
    smallest member."""
    pairs = np.array(list(pairs) if not isinstance(pairs, np.ndarray) else pairs, np.int64)
    return _groups_of(component_labels(n, pairs))


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
    keep = np.empty(len(pairs), bool)
    for s in range(0, len(pairs), PAIR_BLOCK):  # no (pairs, dim) copies of half a million rows
        p = pairs[s:s + PAIR_BLOCK]
        keep[s:s + PAIR_BLOCK] = 1 - np.einsum("ij,ij->i", embeddings[p[:, 0]], embeddings[p[:, 1]]) <= max_cosine
    return pairs[keep]


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
    inverse = inverse.reshape(-1)
    # The crops of each image, ascending: members[start[u]:start[u] + count[u]].
    members = np.argsort(inverse, kind="stable")
    count = np.bincount(inverse, minlength=len(uniq))
    start = np.cumsum(count) - count
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
        for block in range(0, len(image_pairs), PAIR_BLOCK):
            a, b = image_pairs[block:block + PAIR_BLOCK].T
            # Every crop of image a against every crop of image b.
            cnt = count[a] * count[b]
            k = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            ar, br = np.repeat(a, cnt), np.repeat(b, cnt)
            i = members[start[ar] + k // count[br]]
            j = members[start[br] + k % count[br]]
            ok = (ar != br) | (i < j)
            i, j = i[ok], j[ok]
            box = rel[j].copy()
            if flip:
                box[:, 0] = 1 - box[:, 0] - box[:, 2]
            hit = _iou(rel[i], box) >= min_iou
            found.append(np.stack([np.minimum(i[hit], j[hit]), np.maximum(i[hit], j[hit])], 1))
    return unique_pairs(found, len(src_hash))


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of the x, y, w, h rows of `a` and `b` (0 where they do not overlap)."""
    ix = np.maximum(0.0, np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]) - np.maximum(a[:, 0], b[:, 0]))
    iy = np.maximum(0.0, np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3]) - np.maximum(a[:, 1], b[:, 1]))
    inter = ix * iy
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(inter > 0, inter / (a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter), 0.0)


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


def _rows(values, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-crop lists (a box, a size; None or empty when unknown) as a float array and a mask
    of the known, positive-sized ones."""
    known = np.array([v is not None and len(v) == width for v in values], bool)
    out = np.zeros((len(values), width))
    if known.any():
        out[known] = np.array([v for v, k in zip(values, known, strict=True) if k], np.float64)
    return out, known


def same_place(pairs: np.ndarray, boxes, sizes, min_iou: float = 0.5) -> np.ndarray:
    """Which pairs are crops of the same place of two pictures of the same shape (aspect ratios
    within 2 %, boxes overlapping by `min_iou` in picture-relative coordinates, mirrored or
    not): the pairs `face_difference` can compare. Unknown sizes or boxes: False."""
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    box, box_known = _rows(boxes, 4)
    size, size_known = _rows(sizes, 2)
    known = box_known & size_known & (size > 0).all(1)
    i, j = pairs[:, 0], pairs[:, 1]
    out = known[i] & known[j]
    i, j, k = i[out], j[out], np.flatnonzero(out)
    (wi, hi), (wj, hj) = size[i].T, size[j].T
    shape = ~(np.abs(wi / hi - wj / hj) > 0.02 * wi / hi)
    i, j, k = i[shape], j[shape], k[shape]
    a = box[i] / np.tile(size[i], 2)
    b = box[j] / np.tile(size[j], 2)
    mirrored = b.copy()
    mirrored[:, 0] = 1 - b[:, 0] - b[:, 2]
    out[:] = False
    out[k] = np.maximum(_iou(a, b), _iou(a, mirrored)) >= min_iou
    return out


def copy_groups(n: int, pairs: np.ndarray, joined=None, boxes=None,
                load: Callable[[int], tuple[np.ndarray, float] | None] | None = None,
                max_difference: float = EXPRESSION_DIFFERENCE, comparable: np.ndarray | None = None,
                limit: int = EXPRESSION_TESTS, cached: int = PICTURES_CACHED) -> list[list[int]]:
    """The duplicate groups (`connected_groups`) of `n` crops linked by `pairs` (sorted) and
    `joined` (links that always stand: equal crops), where a link between other expressions
    of one picture does not stand. With `load`, the first `limit` of the `comparable` pairs
    (default all; `same_place`), in their order, are tested: such a link stands only if the
    faces differ by at most `max_difference` (`face_difference`). `load(i)` gives the source
    picture of crop i and the scale it was loaded at (None: unreadable, the link stands);
    `boxes` are in source pixels.

    A tested pair whose crops the other links already join is not compared: it cannot change
    the groups. So a thousand copies of one picture cost a thousand comparisons, not a
    comparison per pair, and at most `cached` pictures are held at once."""
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    joined = np.asarray([] if joined is None else joined, np.int64).reshape(-1, 2)
    if load is None or not len(pairs):
        return connected_groups(n, np.concatenate([pairs, joined]))
    comparable = np.ones(len(pairs), bool) if comparable is None else np.asarray(comparable, bool)
    tested = np.flatnonzero(comparable)[:limit]
    stands = np.ones(len(pairs), bool)
    stands[tested] = False
    parent = component_labels(n, np.concatenate([pairs[stands], joined]))  # roots: smallest member

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = int(parent[a])
        return a

    pictures: OrderedDict[int, tuple[np.ndarray, float] | None] = OrderedDict()

    def source(i: int) -> tuple[np.ndarray, float] | None:
        if i in pictures:
            pictures.move_to_end(i)
        else:
            pictures[i] = load(i)
            if len(pictures) > cached:
                pictures.popitem(last=False)
        return pictures[i]

    for i, j in pairs[tested].tolist():
        ri, rj = find(i), find(j)
        if ri == rj:
            continue
        a, b = source(i), source(j)
        if a is None or b is None or face_difference(
                a[0], np.asarray(boxes[i], np.float64) * a[1], b[0]) <= max_difference:
            parent[max(ri, rj)] = min(ri, rj)
    while True:  # every crop to its root
        jumped = parent[parent]
        if np.array_equal(jumped, parent):
            return _groups_of(parent)
        parent = jumped
