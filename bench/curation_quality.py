"""Precision/recall of the exported set on a labelled mixed set, without labels and after
labelling 5 % of the crops as the Label page has a user do it: one at a time, always the head of
the review queue (least certain first; the filter rescores after each label), answered from the
truth, then `curate` again.

The set: lfw_subset faces planted in generated scenes (colour-tinted), masked faces, chelsea
(cat) scenes, lfw non-face patches, sklearn's sample photos, the astronaut, re-encoded copies,
mirror images and exact duplicate URLs. A crop is a true face when its box overlaps a planted
unmasked face (IoU > 0.3). Run: .venv/bin/python bench/curation_quality.py
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(HERE), str(HERE / "tests" / "fixtures")]

import face_scenes as fs  # noqa: E402


def build(root: Path, rng: np.random.Generator) -> dict[str, fs.Scene]:
    scenes = [fs.face_scene(f"face{i}", i, rng, extra_nonface=i if i % 3 == 0 else None)
              for i in range(100)]
    scenes += [fs.face_scene(f"masked{i}", i, rng, masked=True) for i in range(0, 100, 8)]
    scenes += [fs.cat_scene(f"cat{i}", rng) for i in range(15)]
    for i in range(30):  # non-face patches alone
        img = fs.background(320, 320, rng)
        patch = fs.colour_face(fs.lfw()[100 + i], 120, rng)
        fs.paste(img, patch, 100, 100)
        scenes.append(fs.Scene(f"nonface{i}", img, [fs.Planted("nonface", (100, 100, 120, 120))],
                               "misc.example"))
    from sklearn.datasets import load_sample_images

    for k, img in enumerate(load_sample_images().images):
        scenes.append(fs.Scene(f"photo{k}", img, [], "misc.example"))
    scenes.append(fs.astronaut_scene())
    items = [fs.scene_item(s) for s in scenes]
    by_url = {it[0]: s for it, s in zip(items, scenes, strict=True)}
    for i in range(0, 45, 3):  # re-encoded, mirrored and exact copies on another site
        s = scenes[i]
        url = f"https://copies.example/{s.name}-q60.jpg"
        items.append((url, fs.encode(s.rgb, quality=60), "https://copies.example/"))
        by_url[url] = s
        w = s.rgb.shape[1]
        mirror = fs.Scene(s.name + "-mirror", s.rgb[:, ::-1].copy(),
                          [fs.Planted(p.kind, (w - p.box[0] - p.box[2], *p.box[1:]), p.identity)
                           for p in s.planted], "copies.example")
        items.append(fs.scene_item(mirror))
        by_url[items[-1][0]] = mirror
        url = f"https://copies.example/{s.name}-same.jpg"
        items.append((url, items[i][1], "https://copies.example/"))
        by_url[url] = s
    fs.write_raw(root, items)
    return by_url


def truth(ds, by_url) -> dict[str, tuple[bool, str]]:
    """crop id → (is a true face, identity)."""
    out = {}
    for cid, url, bbox in zip(*ds.values(["id", "source_url", "bbox"]), strict=True):
        best = max(by_url[url].planted, key=lambda p: fs.iou(p.box, bbox), default=None)
        ok = best is not None and best.kind == "face" and fs.iou(best.box, bbox) > 0.3
        out[cid] = (ok, best.identity if ok else "")
    return out


def evaluate(ds, gt) -> dict:
    from fiftyone import ViewField as F

    exported = ds.match(F("decision") == "accepted").values("id")
    tp = [gt[i][1] for i in exported if gt[i][0]]
    faces = {ident for ok, ident in gt.values() if ok}
    dups = len(tp) - len(set(tp))
    return {"exported": len(exported), "precision": len(tp) / max(1, len(exported)),
            "recall": len(set(tp)) / max(1, len(faces)), "duplicate_pairs": dups,
            "true_faces_in_catalog": len(faces)}


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="curation-quality-"))
    os.environ.pop("FIFTYONE_DATABASE_DIR", None)
    from curation.catalog import open_catalog, review_queue, set_label
    from curation.config import CurateConfig
    from curation.run import curate

    by_url = build(work, np.random.default_rng(0))
    cfg = CurateConfig(detector="human")
    t = time.perf_counter()
    r = curate(work, cfg, progress=False)
    elapsed = time.perf_counter() - t
    ds = open_catalog(work)
    gt = truth(ds, by_url)
    planted = len({p.identity for s in by_url.values() for p in s.planted if p.kind == "face"})
    before = evaluate(ds, gt)
    n = math.ceil(0.05 * len(ds))
    answered = []
    for _ in range(n):
        (cid,), (sha,), (url,) = review_queue(ds, 1).values(["id", "sha256", "source_url"])
        label = "accept" if gt[cid][0] else "reject"
        set_label(ds, sha, label, "bench")
        answered.append(f"{label} {url.rsplit('/', 1)[-1]}")
    r2 = curate(work, cfg, progress=False)
    after = evaluate(ds, gt)
    print(f"images {r.seen}, crops {len(ds)}, curate {elapsed:.1f} s on {os.cpu_count()} cores")
    print(f"detector: {before['true_faces_in_catalog']}/{planted} planted faces detected")
    print(f"without labels: {before}")
    print(f"labelled (queue order): {', '.join(answered)}")
    print(f"after labelling {n} crops (5 %): {after}")
    print(f"filter: {r2.filter}")
    if os.environ.get("DEBUG"):
        from fiftyone import ViewField as F

        acc = ds.match(F("decision") == "accepted")
        seen = {}
        for cid, url, g in zip(*acc.values(["id", "source_url", "dup_group"]), strict=True):
            if gt[cid][0]:
                if gt[cid][1] in seen:
                    print("DUP", url, seen[gt[cid][1]], g)
                seen[gt[cid][1]] = url

        for smp in ds.match(F("decision") == "accepted"):
            if not gt[smp.id][0]:
                print("FP", smp.source_url, smp.bbox, smp.pollution, smp.cat, smp.disagree,
                      round(smp.blur), round(smp.colour), smp.quality_reasons)


if __name__ == "__main__":
    main()
