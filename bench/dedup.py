"""Near-duplicate search at scale: 100,000 crops (synthetic 64-bit pHash/dHash with planted
near copies and mirrors), multi-index hashing on 2 threads; and the calibration of the linking
rules on real detected crops (copies found vs false merges of distinct faces). Prints the
figures for docs/benchmarks.md ("Curation"); `bench/dedup.py near-identical`: only the grouping
of 1,099 near-identical crops (every pair linked)."""

from __future__ import annotations

import io
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from curation.dedup import connected_groups, hash_pairs, source_pairs  # noqa: E402


def synthetic(n: int, planted: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random hashes, with `planted` copies at 0–7 flipped bits of an earlier crop."""
    sets = {k: rng.integers(0, 2**64, n, dtype=np.uint64) for k in ("phash", "dhash")}
    sets.update({f"{k}_flip": rng.integers(0, 2**64, n, dtype=np.uint64) for k in ("phash", "dhash")})
    for k in range(planted):
        src, dst = 2 * k, 2 * k + 1
        for name in ("phash", "dhash"):
            bits = rng.choice(64, int(rng.integers(0, 8)), replace=False)
            noise = np.uint64(sum(1 << int(b) for b in bits))
            if k % 3 == 0:  # a mirror image: its hash is close to the original's flipped hash
                sets[name][dst] = sets[f"{name}_flip"][src] ^ noise
            else:
                sets[name][dst] = sets[name][src] ^ noise
    return sets


def main(n: int = 100_000, planted: int = 5_000, workers: int = 2) -> None:
    rng = np.random.default_rng(0)
    sets = synthetic(n, planted, rng)
    t = time.perf_counter()
    pairs = hash_pairs(sets, max_distance=7, workers=workers)
    search = time.perf_counter() - t
    # Every crop its own source image, with random boxes: the source-image pass at full size.
    src = rng.integers(0, 2**64, n, dtype=np.uint64)
    src[1:2 * planted:2] = src[0:2 * planted:2]  # the planted copies come from copied images
    boxes = rng.integers(0, 200, (n, 4)) + np.array([0, 0, 40, 40])
    s = time.perf_counter()
    linked = source_pairs(src, rng.integers(0, 2**64, n, dtype=np.uint64), boxes,
                          np.full((n, 2), 320), 4, 0.5, workers)
    source = time.perf_counter() - s
    groups = connected_groups(n, np.vstack([pairs, linked]))
    total = time.perf_counter() - t
    found = {tuple(p) for p in pairs.tolist()}
    recall = np.mean([(2 * k, 2 * k + 1) in found for k in range(planted)])
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{workers} threads")
    print(f"crops: {n:,}  planted near-duplicate pairs: {planted:,} (1/3 mirrors)")
    print(f"near-duplicate search (pHash+dHash, mirrors, <= 7 bits): {search:.2f} s")
    print(f"source-image pass: {source:.2f} s ({len(linked):,} pairs)")
    print(f"with source pass and grouping: {total:.2f} s  pairs: {len(pairs):,}  groups: {len(groups):,}  "
          f"planted pairs found: {recall:.3f}")


def calibration(seed: int = 1, n: int = 100) -> None:
    """Real crops: the 100 lfw_subset faces planted in generated scenes (another seed than
    bench/curation_quality.py), each also re-encoded at JPEG q60 and mirrored, through the real
    `human` detector and cropper. Counts the copy pairs each rule links and the false merges
    (pairs of distinct faces it links)."""
    sys.path.insert(0, str(HERE / "tests" / "fixtures"))
    import face_scenes as fs
    from PIL import Image

    from curation.config import CurateConfig
    from curation.crop import crop_face
    from curation.decide import SOURCE_BOX_IOU, SOURCE_HASH_DISTANCE
    from curation.dedup import confirmed_pairs, source_pairs
    from curation.detectors import get_detector
    from curation.features import embedding, perceptual_hashes

    rng = np.random.default_rng(seed)
    detect = get_detector("human")
    rows = []  # identity, crop hashes, embedding, source hashes, bbox, size
    for i in range(n):
        scene = fs.face_scene(f"c{i}", i, rng)
        planted = scene.planted[0].box
        for variant in ("orig", "q60", "mirror"):
            rgb = scene.rgb if variant == "orig" else scene.rgb[:, ::-1].copy()
            if variant == "q60":
                rgb = np.asarray(Image.open(io.BytesIO(fs.encode(scene.rgb, quality=60))))
            box = planted if variant != "mirror" else \
                (rgb.shape[1] - planted[0] - planted[2], *planted[1:])
            src = perceptual_hashes(rgb)
            for face in detect(rgb):
                if fs.iou(box, (face.x, face.y, face.w, face.h)) < 0.3:
                    continue
                crop = crop_face(rgb, face, 1.5, 128, 2.0)
                if crop is None:
                    continue
                rows.append((i, perceptual_hashes(crop.pixels), embedding(crop.pixels), src,
                             (face.x, face.y, face.w, face.h), (rgb.shape[1], rgb.shape[0])))
    ident = np.array([r[0] for r in rows])
    sets = {k: np.array([r[1][k] for r in rows], dtype=np.uint64)
            for k in ("phash", "dhash", "phash_flip", "dhash_flip")}
    emb = np.stack([r[2] for r in rows]).astype(np.float64)
    same = ident[:, None] == ident[None, :]
    iu = np.triu_indices(len(rows), 1)
    copies, distinct = int(same[iu].sum()), int((~same[iu]).sum())

    def score(pairs: np.ndarray) -> str:
        ok = same[pairs[:, 0], pairs[:, 1]] if len(pairs) else np.zeros(0, bool)
        return f"copy pairs linked {ok.sum()}/{copies}, false merges {(~ok).sum()}/{distinct:,}"

    hashes = hash_pairs(sets, max_distance=7)
    cos = 1 - emb @ emb.T
    print(f"calibration: {len(rows)} detected crops of {n} faces (original, JPEG q60, mirror)")
    print(f"  old rule, hash <= 7 OR embedding <= 0.08: "
          f"{score(np.unique(np.vstack([hashes, np.argwhere(np.triu(cos <= 0.08, 1))]), axis=0))}")
    for t in (0.08, 0.1, 0.12, 0.15, 0.2):
        print(f"  hash <= 7 AND embedding <= {t}: {score(confirmed_pairs(hashes, emb, t))}")
    src = source_pairs(np.array([r[3]["phash"] for r in rows], np.uint64),
                       np.array([r[3]["phash_flip"] for r in rows], np.uint64),
                       np.array([r[4] for r in rows]), np.array([r[5] for r in rows]),
                       SOURCE_HASH_DISTANCE, SOURCE_BOX_IOU)
    print(f"  source images <= {SOURCE_HASH_DISTANCE} bits, boxes IoU >= {SOURCE_BOX_IOU}: "
          f"{score(src)}")
    t = CurateConfig().embedding_distance
    both = np.unique(np.vstack([confirmed_pairs(hashes, emb, t), src]), axis=0)
    print(f"  curate's rule (hash AND embedding <= {t}) OR source: {score(both)}")


def near_identical_columns(n: int = 1099, seed: int = 0, folder: Path | None = None):
    """`n` near-identical crops: one lfw face in a 640x480 scene, each copy with +-2 grey levels
    of noise and the face box moved by up to 1 px (a detector's jitter), the pictures written
    as JPEGs. Returns (the columns `curation.decide.duplicate_members` reads, picture paths)."""
    import tempfile

    sys.path.insert(0, str(HERE / "tests" / "fixtures"))
    import face_scenes as fs

    from curation.crop import crop_face
    from curation.decide import DUPLICATE_COLUMNS
    from curation.detectors import Face
    from curation.features import embedding, perceptual_hashes, to_signed

    rng = np.random.default_rng(seed)
    scene = fs.face_scene("same", 3, rng, size=140, h=480, w=640)
    x, y, w, h = scene.planted[0].box
    folder = folder or Path(tempfile.mkdtemp(prefix="bench-near-identical-"))
    cols: dict[str, list] = {c: [] for c in DUPLICATE_COLUMNS}
    emb, paths = [], []
    for k in range(n):
        rgb = np.clip(scene.rgb.astype(np.int16) + rng.integers(-2, 3, scene.rgb.shape), 0, 255).astype(np.uint8)
        dx, dy, dw = (int(v) for v in rng.integers(-1, 2, 3))
        face = Face(x + dx, y + dy, w + dw, h + dw, 1.0)
        crop = crop_face(rgb, face, 1.5, 128, 2.0).pixels
        crop_hashes, src = perceptual_hashes(crop), perceptual_hashes(rgb)
        path = folder / f"copy{k:05d}.jpg"
        path.write_bytes(fs.encode(rgb))
        paths.append(path)
        for name in ("phash", "dhash", "phash_flip", "dhash_flip"):
            cols[name].append(to_signed(crop_hashes[name]))
        cols["sha256"].append(f"crop{k}")
        cols["source_sha256"].append(f"source{k}")
        cols["source_phash"].append(to_signed(src["phash"]))
        cols["source_phash_flip"].append(to_signed(src["phash_flip"]))
        cols["bbox"].append([face.x, face.y, face.w, face.h])
        cols["source_size"].append([rgb.shape[1], rgb.shape[0]])
        emb.append(embedding(crop))
    cols["embedding"] = np.stack(emb)
    return cols, paths


def near_identical(n: int = 1099, workers: int = 2) -> None:
    """Duplicate grouping as curate runs it (`duplicate_members`, with the expression test
    reading the pictures from disk) on `n` near-identical crops: every pair is linked, half a
    million pairs at 1,099 (issue 22: curate took 8 min 47 s on 1,099 such faces)."""
    import shutil
    import tempfile

    from curation.config import CurateConfig
    from curation.decide import _load_small, duplicate_members

    folder = Path(tempfile.mkdtemp(prefix="bench-near-identical-"))
    try:
        t = time.perf_counter()
        cols, paths = near_identical_columns(n, folder=folder)
        built = time.perf_counter() - t
        t = time.perf_counter()
        groups = duplicate_members(cols, CurateConfig(), workers, lambda i: _load_small(paths[i]))
        took = time.perf_counter() - t
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"near-identical crops: {n:,} (built in {built:.0f} s); grouping with the expression "
          f"test: {took:.2f} s; groups: {[len(g) for g in groups]}")


if __name__ == "__main__":
    if sys.argv[1:] == ["near-identical"]:
        near_identical()
    else:
        main()
        calibration()
        near_identical()
