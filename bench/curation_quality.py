"""Precision and recall of curation on art its defaults were not chosen on.

The set (bench/gallery_set.py): good faces from five sources, each in six degradations, and
eight kinds of pollution. Every picture goes through the path `studio curate --detector anime`
runs in its workers (curation.process: detect, crop, quality, rule signals, features). Each
source then becomes one gallery, as a user's crawl of one site: its crops plus a draw of
pollution worth 4, 8 or 16 % of them (POLLUTION_SHARES), scored as curation scores a workspace
(rules calibrated on the gallery's own crops, atypicality among them, the filter from labels).

Evidence that cannot be tuned to: the calibration constants are chosen by a grid on TUNING
sources and reported on the HELD_OUT ones, and again leave-one-source-out (each source scored
with the constants chosen on the four others). Reported: recall of good faces per source and
per degradation, the share of each pollution kind exported, 95 % Wilson intervals; then 30
labels from the review queue (3 rounds of its first 10, as the Label page offers them).

Run: .venv/bin/python bench/curation_quality.py  (BENCH_CACHE=file.json keeps the crops)
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(HERE), str(HERE / "bench")]

import gallery_set as gs  # noqa: E402

from curation import evidence as ev  # noqa: E402
from curation import filter_model as fm  # noqa: E402
from curation.config import CurateConfig  # noqa: E402
from curation.review_order import diverse_order  # noqa: E402
from curation.scoring import wilson  # noqa: E402

CASCADE = HERE.parent / "shared" / "detectors" / "lbpcascade_animeface.xml"
TUNING = ("renpy", "generated")  # the sources the old thresholds were chosen on, too
HELD_OUT = ("lilynovel", "easyrpg", "peppercarrot")  # never used to choose anything
# Pollution per gallery, as a share of its good crops: one draw at each (the gallery of issue 18
# had 14 polluted crops to 209 good, 0.07).
POLLUTION_SHARES = (0.04, 0.08, 0.16)
PLANTED_KINDS = ("person", "masked", "cat", "photo", "blurred", "drawn_animal")
# The atypicality constants are chosen on this grid. The share cap is set a priori (pollution is
# at most a tenth of a source, evidence.POLLUTION_SHARE): this set's art rarely fools the rules,
# so it cannot choose it (SHARES shows how little the objective moves with it).
GRID = {"neighbours": (0.02, 0.1, 0.2), "weight": (0.0, 0.8, 1.6, 2.4, 3.2, 4.0),
        "start": (0.5, 1.0, 1.5, 2.0, 2.5, 3.0)}
SHARES = (0.025, 0.05, 0.1, 0.15, 0.2, 0.3)


def curate_crops(scenes, cfg: CurateConfig, work: Path) -> list[dict]:
    """Each scene through curation.process as a curate worker runs it; crop records + truth."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from curation import process
    from tests.fixtures import face_scenes as fs

    items = [(f"https://art.example/{s.name}.{'jpg' if s.fmt == 'JPEG' else 'png'}",
              fs.encode(s.rgb, s.fmt, s.quality), "https://art.example/") for s in scenes]
    lines = fs.write_raw(work, items)
    planted = {_pixels_key(work / m["path"]): [b for _, b, _ in s.faces]
               for s, m in zip(scenes, lines, strict=True) if s.planted}
    # spawn, as curate does: a forked child of a process that has run OpenCV hangs in it.
    with ProcessPoolExecutor(cfg.workers, mp_context=mp.get_context("spawn"),
                             initializer=init_worker,
                             initargs=(dataclasses.asdict(cfg), str(work / "faces"), planted)) as pool:
        results = list(pool.map(process.process_source, [m["sha256"] for m in lines],
                                [str(work / m["path"]) for m in lines], chunksize=4))
    crops = []
    for scene, result in zip(scenes, results, strict=True):
        for c in result.crops:
            c["kind"], c["identity"] = gs.truth_of(scene, c["bbox"])
            c["source"] = scene.source if c["kind"] == gs.GOOD else "pollution"
            c["degradation"] = scene.degradation
            crops.append({k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in c.items()})
    return crops


def _pixels_key(path: Path) -> str:
    import hashlib

    from curation.files import load_rgb

    return hashlib.sha256(load_rgb(path).tobytes()).hexdigest()


def init_worker(cfg: dict, faces_dir: str, planted: dict[str, list]) -> None:
    """curate's worker, whose detector also returns the planted boxes of pollution pictures
    (found by their decoded pixels); the rule checker keeps the real cascade."""
    import hashlib

    from curation import process
    from curation.detectors import Face

    process.init_worker(cfg, faces_dir)
    cascade = process._state["detector"]

    def detect(rgb):
        found = cascade(rgb)
        extra = planted.get(hashlib.sha256(np.ascontiguousarray(rgb).tobytes()).hexdigest(), [])
        return found + [Face(*b, 1.0) for b in extra
                        if not any(gs.fs.iou(b, (f.x, f.y, f.w, f.h)) > 0.3 for f in found)]

    process._state["detector"] = detect


def load_crops() -> list[dict]:
    seed = int(os.environ.get("BENCH_SEED", 1))
    cache = Path(os.environ.get("BENCH_CACHE") or Path(tempfile.gettempdir()) / f"curation-quality-{seed}.json")
    if cache.is_file():
        return _as_if_detected(json.loads(cache.read_text()))
    from curation.detectors import cascade_detector

    t0 = time.perf_counter()
    scenes = gs.build(cascade_detector(CASCADE), seed=seed)
    cfg = CurateConfig(detector="anime", cascade=str(CASCADE), workers=2)
    crops = curate_crops(scenes, cfg, Path(tempfile.mkdtemp(prefix="curation-quality-")))
    print(f"built and curated {len(scenes)} pictures in {time.perf_counter() - t0:.0f} s")
    cache.write_text(json.dumps(crops))
    return _as_if_detected(crops)


def _as_if_detected(crops: list[dict]) -> list[dict]:
    """Crops cut at a planted box exist in a real crawl only where the cascade fired, so its
    second look at the crop would mostly confirm them: `disagree` is cleared on every crop of a
    planted kind (pessimistic for the rules: the few real hits among them lose it too)."""
    from curation.pollution import rule_probability

    for c in crops:
        if c["kind"] in PLANTED_KINDS:
            c["disagree"] = False
            c["rule_pollution"] = rule_probability(c)
    return crops


class Gallery:
    """One source's crops plus a draw of pollution, with the evidence curation computes."""

    def __init__(self, source: str, crops: list[dict], rng: np.random.Generator, share: float):
        self.source = source
        own = [c for c in crops if c["source"] == source]
        pool = defaultdict(list)
        for c in crops:
            if c["source"] == "pollution" and c["kind"] != gs.AMBIGUOUS:
                pool[c["kind"]].append(c)
        want = max(1, round(share * len(own)))
        # Round-robin over the kinds, each kind drawn without replacement (no twin crops).
        order = {k: list(rng.permutation(len(v))) for k, v in pool.items()}
        kinds, drawn = sorted(pool), []
        while len(drawn) < want and any(order.values()):
            for k in kinds:
                if order[k] and len(drawn) < want:
                    drawn.append(pool[k][order[k].pop()])
        self.crops = own + drawn
        self.good = np.array([c["kind"] == gs.GOOD for c in self.crops])
        self.ambiguous = np.array([c["kind"] == gs.AMBIGUOUS for c in self.crops])
        self.quality_ok = np.array([not c["quality_reasons"] for c in self.crops])
        self.x = fm.feature_matrix([c["features"] for c in self.crops])
        self.signals = fm.signal_matrix(*[[c.get(s) for c in self.crops] for s in fm.SIGNALS])
        z = fm.project(fm.fit_projection(self.x), self.x)
        self.atypical = {k: ev.atypicality(z, k) for k in GRID["neighbours"]}
        self.old_rules = np.array([c["rule_pollution"] for c in self.crops])

    def evidence(self, neighbours: float, weight: float, start: float,
                 share: float = ev.POLLUTION_SHARE) -> tuple[np.ndarray, np.ndarray]:
        prior, _ = ev.calibrate(self.signals, [self.source] * len(self.crops), share_cap=share)
        return prior, ev.atypical_lift(self.atypical[neighbours], weight, start)

    def exported(self, p: np.ndarray) -> np.ndarray:
        return self.quality_ok & (p < 0.5)


def unlabelled(g: Gallery, params: dict) -> np.ndarray:
    return ev.unlabelled_pollution(*g.evidence(**params))


def objective(galleries: list[Gallery], params: dict) -> float:
    """Good kept plus pollution removed, each gallery weighing the same; recall below 0.95
    on any gallery costs ten times its shortfall."""
    total = 0.0
    for g in galleries:
        out = g.exported(unlabelled(g, params))
        keep, bad = g.good & ~g.ambiguous, ~g.good & ~g.ambiguous
        recall = (out & keep).sum() / max(keep.sum(), 1)
        removed = (~out & bad).sum() / max(bad.sum(), 1)
        total += recall + removed - 10 * max(0.0, 0.95 - recall)
    return total / len(galleries)


def choose(galleries: list[Gallery]) -> dict:
    names = list(GRID)
    best = max(itertools.product(*GRID.values()),
               key=lambda v: objective(galleries, dict(zip(names, v, strict=True))))
    return dict(zip(names, best, strict=True))


def label_rounds(g: Gallery, params: dict, rounds: int = 3,
                 per_round: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The Label page: label the first 10 of the review queue, rescore, three times."""
    prior, lift = g.evidence(**params)
    y = (~g.good).astype(np.int64)
    emb = np.array([c["embedding"] for c in g.crops])  # what the catalog's review queue spreads by
    p = ev.unlabelled_pollution(prior, lift)
    labelled: list[int] = []
    for _ in range(rounds):
        rest = np.setdiff1d(np.arange(len(g.crops)), labelled)
        labelled += rest[diverse_order(np.abs(p[rest] - 0.5), emb[rest], per_round)].tolist()
        lab = np.array(labelled)
        _, p = fm.few_label(g.x, prior, lift, lab, y[lab])
    return p, np.array(labelled)


class Tally:
    """Counts of exported / total per key, printed with Wilson intervals."""

    def __init__(self):
        self.hit, self.n = Counter(), Counter()

    def add(self, key, hits: int, n: int) -> None:
        self.hit[key] += int(hits)
        self.n[key] += int(n)

    def line(self, key) -> str:
        h, n = self.hit[key], self.n[key]
        lo, hi = wilson(h, n)
        return f"{h}/{n} = {h / max(n, 1):.3f} [{lo:.3f}, {hi:.3f}]"


def report(title: str, runs: list[tuple[Gallery, np.ndarray, np.ndarray | None]]) -> None:
    """Recall per source and degradation, exported share per pollution kind (unlabelled crops)."""
    recall, polluted, overall = Tally(), Tally(), Tally()
    for g, p, labelled in runs:
        held = np.ones(len(g.crops), bool)
        if labelled is not None:
            held[labelled] = False
        out = g.exported(p)
        for i, c in enumerate(g.crops):
            if not held[i] or c["kind"] == gs.AMBIGUOUS:
                continue
            if c["kind"] == gs.GOOD:
                recall.add((g.source, c["degradation"]), out[i], 1)
                recall.add((g.source, "all"), out[i], 1)
                recall.add(("all", c["degradation"]), out[i], 1)
                overall.add("recall", out[i], 1)
            else:
                polluted.add(c["kind"], out[i], 1)
                overall.add("pollution exported", out[i], 1)
            if out[i]:
                overall.add("precision", c["kind"] == gs.GOOD, 1)
    print(f"\n== {title}")
    for key in ("recall", "precision", "pollution exported"):
        print(f"  {key:20s} {overall.line(key)}")
    print("  recall of good faces, per source (all degradations):")
    for s in gs.SOURCES:
        if recall.n[(s, "all")]:
            print(f"    {s:14s} {recall.line((s, 'all'))}")
    print("  recall per degradation (all sources):")
    for d in gs.DEGRADATIONS:
        if recall.n[("all", d)]:
            print(f"    {d:14s} {recall.line(('all', d))}")
    print("  pollution exported, per kind:")
    for k in sorted(polluted.n):
        print(f"    {k:14s} {polluted.line(k)}")


def art_as_served() -> None:
    """shared/art's 60 files as one workspace, as served (the issue's check: no good face lost):
    every crop with what rejected it, or the rules that fired on an accepted non-face."""
    scenes = []
    hits = json.loads((gs.ART / "lbp_detections.json").read_text())
    for path in sorted(p for p in gs.ART.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg")):
        rel = str(path.relative_to(gs.ART))
        rgb, _ = gs._art(rel)
        faces = [("nonface" if (rel.removeprefix("peppercarrot/"), f[0]) in gs.PEPPER_NONFACE else gs.GOOD,
                  tuple(f), rel) for f in hits.get(rel, {}).get("faces", [])]
        scenes.append(gs.Scene(rel.replace("/", "_"), rgb, "art", faces,
                               fmt="PNG" if path.suffix.lower() == ".png" else "JPEG"))
    cfg = CurateConfig(detector="anime", cascade=str(CASCADE), workers=2)
    crops = curate_crops(scenes, cfg, Path(tempfile.mkdtemp(prefix="curation-art-")))
    x = fm.feature_matrix([c["features"] for c in crops])
    prior, _ = ev.calibrate(fm.signal_matrix(*[[c.get(s) for c in crops] for s in fm.SIGNALS]),
                            ["art"] * len(crops))
    atypical = ev.atypicality(fm.project(fm.fit_projection(x), x))
    p = ev.unlabelled_pollution(prior, ev.atypical_lift(atypical))
    good = [c["kind"] == gs.GOOD for c in crops]
    out = [not c["quality_reasons"] and q < 0.5 for c, q in zip(crops, p, strict=True)]
    print(f"\n== shared/art as served, one workspace: {len(crops)} crops, {sum(good)} faces; "
          f"good rejected {sum(g and not o for g, o in zip(good, out, strict=True))}, "
          f"non-faces exported {sum(o and not g for g, o in zip(good, out, strict=True))} of "
          f"{len(crops) - sum(good)}")
    for c, q, o, a in zip(crops, p, out, atypical, strict=True):
        if not o or c["kind"] != gs.GOOD:
            print(f"  {'exported' if o else 'rejected'} {c['kind']:16s} {c['identity'][:58]:58s} "
                  f"rules {[s for s in fm.SIGNALS if c.get(s)]} quality {c['quality_reasons']} "
                  f"atypicality {a:.1f} pollution {q:.2f}")


def main() -> None:
    if not CASCADE.is_file():
        sys.exit(f"{CASCADE} is missing")
    crops = load_crops()
    print(f"machine: {os.cpu_count()} cores; {len(crops)} crops; by kind {dict(Counter(c['kind'] for c in crops))}")
    print("good crops by source:", dict(Counter(c["source"] for c in crops if c["kind"] == gs.GOOD)))
    rng = np.random.default_rng(0)
    galleries = {s: [Gallery(s, crops, rng, share) for share in POLLUTION_SHARES] for s in gs.SOURCES}
    fired = {s: f"{sum(bool(c.get(s)) for c in crops if c['kind'] == gs.GOOD)}/"
                f"{sum(c['kind'] == gs.GOOD for c in crops)} good, "
                f"{sum(bool(c.get(s)) for c in crops if c['kind'] not in (gs.GOOD, gs.AMBIGUOUS))} polluted"
             for s in fm.SIGNALS}
    print("rules fired:", fired)

    report("the rules as they were (vetoes, no calibration), held-out sources",
           [(g, g.old_rules, None) for s in HELD_OUT for g in galleries[s]])
    tuning = [g for s in TUNING for g in galleries[s]]
    tuned = choose(tuning)
    print(f"\nchosen on {TUNING}: {tuned}")
    print("  the tuning objective by share cap, at those constants:",
          {share: round(objective(tuning, {**tuned, "share": share}), 4) for share in SHARES})
    report(f"calibrated rules + atypicality, constants from {TUNING}; held-out sources {HELD_OUT}",
           [(g, unlabelled(g, tuned), None) for s in HELD_OUT for g in galleries[s]])
    loso = []
    for s in gs.SOURCES:
        params = choose([g for t in gs.SOURCES if t != s for g in galleries[t]])
        print(f"  leave {s} out: chosen {params}")
        loso += [(g, unlabelled(g, params), None) for g in galleries[s]]
    report("leave-one-source-out (each source scored with constants chosen on the four others)", loso)
    shipped = {"neighbours": ev.NEIGHBOUR_SHARE, "weight": ev.ATYPICAL_WEIGHT,
               "start": ev.ATYPICAL_FROM}
    report(f"the shipped defaults {shipped}, every source",
           [(g, unlabelled(g, shipped), None) for s in gs.SOURCES for g in galleries[s]])
    runs = {s: [(g, *label_rounds(g, shipped)) for g in galleries[s]] for s in gs.SOURCES}
    report("after 30 labels from the review queue (3 rounds of its first 10); never-labelled "
           "crops of the held-out sources", [r for s in HELD_OUT for r in runs[s]])
    report("the same, every source", [r for s in gs.SOURCES for r in runs[s]])
    art_as_served()


if __name__ == "__main__":
    main()
