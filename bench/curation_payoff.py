"""Curation pays, measured: train on a crawl's curated export and on every crop of the same crawl,
score both against clean faces held apart.

The crawl (bench/gallery_set.py): good drawn faces from five sources (Ren'Py sprites, the
lilynovelplayer busts, EasyRPG face tiles, Pepper&Carrot's painted art, generated anime-like
faces), each source a site of its own. The good pictures are split by identity (a character's
expressions, a bust and its sprite stay on one side): `--held-share` of them are held apart and
never crawled. Polluted pictures are added, about `--pollution` of the crawl's faces: photos of
people with and without masks, cats, other photos, defocused drawn faces, EasyRPG's animals and
monsters, spread over the sites (the cascade's own false hits on cloth and ornaments come on
top). Every picture, good or polluted, is served `--versions` times: as it is, then reposted in
other degradations (JPEG, upscaled, soft, noisy, pasted on a photo). Polluting faces are cut at
their planted box as if the cascade had fired there (it fires on few photos; a crawl holds only
the ones it did), and the cascade's second look at such a crop confirms it, as
curation_quality.py's `_as_if_detected`.

The curation is the studio's: the pictures are written as the crawler writes raw/, then
`studio curate --workspace W` and `studio export --workspace W` run as child processes, with the
anime detector given as a plug-in (`[curate] detector = "curation_payoff:planted_anime"`: the
real cascade plus the planted boxes, declaring `detects = "drawn"` as the anime detector does, so
its crops get the same quality floor and pollution rules). Then `--labels` crops are labelled
by their truth, 10 at a time from the top of the review queue as the Label page offers them
(`studio labels import`, then `studio curate`, which retrains the filter and rescores), and
`studio export` runs again.

Then, with the same TrainConfig (the studio defaults at 32 px, widths 16, batch 64), the same
steps and the same seed, it trains on
    curated   the first export, without labels (exports/v0001/images): what `studio pipeline`
              trains on before anyone labels
    labelled  the export after the labels (exports/v0002/images)
    all       every crop of the crawl (the workspace's faces/), pollution and reposts included
    good      every crop whose truth is a good face, reposts included: a perfect pollution
              filter without dedup or quality checks (against `all`, what the pollution costs)
and scores each by SWD x1e3 (`gan.metrics.swd`, as the trainer's evaluation and
bench/loss_sweep.py: 512 samples of the EMA G, G in eval mode) against the held-apart faces:
the good crops that `curate`'s worker path cuts from the held-apart pictures as served, drawn
with repeats up to 512. Also printed: each training set's own SWD against them (the data alone),
and its share of polluted crops by their truth.

    .venv/bin/python bench/curation_payoff.py [--seeds 0 1] [--steps 1500] [--quick] [--out DIR]

Default: about 12 minutes on a quiet 2-core machine (building, curating and labelling ~2.5,
eight trainings of ~70 s on one thread), twice that while other work shares the cores; `--seeds`
with no value stops before training (the data only).
--quick: a smaller crawl without reposts, 300 steps, one seed (a few minutes; the numbers mean little).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1]
PLANTED_ENV = "BENCH_PLANTED_BOXES"  # the JSON file planted_anime reads in curate's workers
EVAL_N = 512


# ---- the detector plug-in (runs in curate's worker processes: keep its imports light) ---------

def _pixels_key(rgb: np.ndarray) -> str:
    return f"{hashlib.sha256(np.ascontiguousarray(rgb).tobytes()).hexdigest()}{rgb.shape}"


def _iou(a, b) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / float(a[2] * a[3] + b[2] * b[3] - inter) if inter else 0.0


def planted_anime(cascade=None):
    """`studio curate`'s anime detector, plus the faces planted in the pollution pictures (found
    by the picture's decoded pixels). A planted face's crop, as the pollution checker looks at it
    again (`pollution._bordered`), is confirmed: in a real crawl such a crop exists only where the
    cascade fired, and its second look mostly agrees."""
    from curation.crop import crop_face
    from curation.detectors import Face, anime_detector
    from curation.pollution import _bordered

    real = anime_detector(cascade)
    spec = json.loads(Path(os.environ[PLANTED_ENV]).read_text())
    planted: dict[str, list] = spec["boxes"]
    margin, crop_size, max_upscale = spec["margin"], spec["crop_size"], spec["max_upscale"]
    confirm: dict[str, Face] = {}  # pixels of a planted face's bordered crop → a face over it

    def detect(rgb: np.ndarray) -> list:
        key = _pixels_key(rgb)
        if key in confirm:
            return [confirm[key]]
        found = real(rgb)
        extra = [Face(*b, 1.0) for b in planted.get(key, [])
                 if not any(_iou(b, (f.x, f.y, f.w, f.h)) > 0.3 for f in found)]
        for face in extra:
            crop = crop_face(rgb, face, margin, crop_size, max_upscale)
            if crop is not None:
                side = crop.pixels.shape[0]
                confirm[_pixels_key(_bordered(crop.pixels))] = Face(side // 4, side // 4, side, side, 1.0)
        return found + extra

    return detect


planted_anime.detects = "drawn"  # as the anime detector: its crops get the drawn-art rules


# ---- the crawl --------------------------------------------------------------------------------

def _group(scene) -> str:
    """What must stay on one side of the split: a Ren'Py character in one outfit (its
    expressions), a lilynovel bust and its sprite, otherwise the picture."""
    if scene.source == "renpy" and not scene.name.startswith("renpy-concert"):
        return scene.name.rsplit("_", 1)[0]
    if scene.source == "lilynovel":
        return scene.name.removesuffix("_g")
    return scene.name


def build_crawl(detect, a, rng: np.random.Generator):
    """(every picture the crawl serves, the held-apart pictures as served, the polluted originals)."""
    import gallery_set as gs

    originals = (gs.renpy_scenes(detect, rng) + gs.lilynovel_scenes() + gs.easyrpg_scenes(rng)
                 + gs.peppercarrot_scenes() + gs.generated_scenes(rng, a.generated))
    good = [s for s in originals if s.source != "pollution"]
    animals = [s for s in originals if s.source == "pollution"]  # EasyRPG's animals and monsters
    held, crawl = [], []
    for source in gs.SOURCES:  # the split, per source, by group
        groups = sorted({_group(s) for s in good if s.source == source})
        cut = set(rng.permutation(groups)[:round(a.held_share * len(groups))].tolist()) if groups else set()
        for s in good:
            if s.source == source:
                (held if _group(s) in cut else crawl).append(s)
    n_good = sum(f[0] == gs.GOOD for s in crawl for f in s.faces)
    want = round(a.pollution / (1 - a.pollution) * n_good)  # polluted pictures, about one face each
    pool = animals + gs.pollution_scenes(detect, rng, per_kind=want // 5 + 2)
    by_kind: dict[str, list] = {}
    for s in pool:
        if s.default != gs.AMBIGUOUS:  # EasyRPG's humanoid monsters: neither good nor pollution
            by_kind.setdefault(s.default, []).append(s)
    order = {k: list(rng.permutation(len(v))) for k, v in by_kind.items()}
    polluted: list = []
    while len(polluted) < want and any(order.values()):  # round-robin over the kinds
        for k in sorted(by_kind):
            if order[k] and len(polluted) < want:
                polluted.append(by_kind[k][order[k].pop()])
    sites = [s for s in gs.SOURCES if any(x.source == s for x in crawl)]
    for s in polluted:  # pollution comes from the same sites (EasyRPG's animals from its own)
        s.source = "easyrpg" if s.name.startswith("easyrpg") else sites[int(rng.integers(0, len(sites)))]
    backdrops = [rgb for rgb, kind in gs.an.photos().values() if kind == "other"]
    served = []
    for s in crawl + polluted:  # as served, then reposts in other degradations, good or not
        copies, others = [s], rng.permutation(gs.DEGRADATIONS[1:]).tolist()
        while len(copies) < a.versions and others:
            v = gs.degrade(s, others.pop(), rng, backdrops)  # None: backdrop needs an alpha
            if v is not None:
                copies.append(v)
        served += copies
    return served, held, polluted


def _site(scene) -> str:
    return f"https://{scene.source}.example/"


def write_workspace(ws: Path, scenes, planted_file: Path) -> dict[str, object]:
    """raw/ and its manifest as the crawler writes them, studio.toml, and the planted boxes the
    plug-in reads; returns raw sha256 → scene."""
    from curation.config import CurateConfig
    from curation.files import load_rgb
    from tests.fixtures import face_scenes as fs

    ws.mkdir(parents=True)
    items = [(f"{_site(s)}{s.name.replace('~', '-')}.{'jpg' if s.fmt == 'JPEG' else 'png'}",
              fs.encode(s.rgb, s.fmt, s.quality), _site(s)) for s in scenes]
    lines = fs.write_raw(ws, items)
    by_sha = {m["sha256"]: s for s, m in zip(scenes, lines, strict=True)}
    boxes = {_pixels_key(load_rgb(ws / m["path"])): [list(b) for _, b, _ in s.faces]
             for s, m in zip(scenes, lines, strict=True) if s.planted}
    cfg = CurateConfig()
    planted_file.write_text(json.dumps({"boxes": boxes, "margin": cfg.margin, "crop_size": cfg.crop_size,
                                        "max_upscale": cfg.max_upscale}))
    (ws / "studio.toml").write_text(
        "[curate]\n"
        "# the anime cascade + the planted pollution faces (bench/curation_payoff.py)\n"
        'detector = "curation_payoff:planted_anime"\n')
    return by_sha


def studio(args: list[str], env: dict) -> str:
    done = subprocess.run([sys.executable, "-m", "studio", *args], env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"studio {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def catalog_crops(ws: Path, by_sha: dict) -> list[dict]:
    """Every crop of the workspace's catalog with its decision and its truth."""
    import gallery_set as gs

    from curation.catalog import open_catalog

    ds = open_catalog(ws)
    cols = ["sha256", "filepath", "source_sha256", "bbox", "decision"]
    out = []
    for row in zip(*ds.values(cols), strict=True):
        r = dict(zip(cols, row, strict=True))
        scene = by_sha[r["source_sha256"]]
        r["kind"], _ = gs.truth_of(scene, r["bbox"])
        r["degradation"] = scene.degradation
        out.append(r)
    return out


def label_rounds(ws: Path, truth: dict[str, str], env: dict, rounds: int, per_round: int) -> Counter:
    """The Label page's use, through the command line: the first `per_round` crops of the
    review queue labelled by their truth (`studio labels import`), then `studio curate` (which
    retrains the filter and rescores), `rounds` times. Returns the labels given."""
    import gallery_set as gs

    from curation.catalog import open_catalog, review_queue

    given: Counter = Counter()
    for r in range(rounds):
        shas = review_queue(open_catalog(ws), per_round).values("sha256")
        rows = []
        for sha in shas:
            kind = truth[sha]
            label = "accept" if kind in (gs.GOOD, gs.AMBIGUOUS) else "reject"
            rows.append(f"{sha},{label}" + ("" if label == "accept" else f",{kind}"))
            given[f"{label} {kind}"] += 1
        csv = ws.parent / f"labels-{r}.csv"
        csv.write_text("\n".join(rows) + "\n")
        studio(["labels", "import", str(csv), "--workspace", str(ws)], env)
        studio(["curate", "--workspace", str(ws), "--no-progress"], env)
    return given


def held_apart_faces(scenes, folder: Path, work: Path) -> int:
    """The good crops of the held-apart pictures as served, cut by curate's worker path
    (curation.process with the anime detector) into `folder`."""
    import dataclasses
    import shutil

    import gallery_set as gs

    from curation import process
    from curation.config import CurateConfig
    from tests.fixtures import face_scenes as fs

    process.init_worker(dataclasses.asdict(CurateConfig()), str(work / "faces"))
    folder.mkdir(parents=True)
    work.mkdir(parents=True)
    n = 0
    for i, s in enumerate(scenes):
        path = work / f"{i:04d}.{'jpg' if s.fmt == 'JPEG' else 'png'}"
        path.write_bytes(fs.encode(s.rgb, s.fmt, s.quality))
        for c in process.process_source(f"{i:064d}", str(path)).crops:
            if gs.truth_of(s, c["bbox"])[0] == gs.GOOD:
                shutil.copyfile(c["filepath"], folder / f"{c['sha256']}.png")
                n += 1
    return n


# ---- training and scoring ----------------------------------------------------------------------

def _images(folder: Path):
    from gan.data import load_images

    return load_images(folder, 32, lambda m: None).images


def _repeat(images, n: int = EVAL_N, seed: int = 7):
    import torch

    if len(images) >= n:
        return images[:n]
    return images[torch.randint(len(images), (n,), generator=torch.Generator().manual_seed(seed))]


def train_and_score(data: Path, run: Path, reals, a, seed: int) -> dict:
    import copy

    from gan.config import TrainConfig
    from gan.metrics import swd
    from gan.sampling import generate, latents
    from gan.train import train

    cfg = TrainConfig(resolution=32, steps=a.steps, batch=a.batch, g_width=a.width, d_width=a.width,
                      seed=seed, device="cpu", log_every=100, sample_every=a.steps, ckpt_every=a.steps,
                      metric_every=0, metric_images=64, keep_last=1)
    grabbed = {}

    def grab(st):
        if st.step == a.steps:
            grabbed["G_ema"] = copy.deepcopy(st.G_ema)

    t0 = time.perf_counter()
    train(cfg, data, run, log=lambda m: None, _after_step=grab)
    seconds = time.perf_counter() - t0
    fake = generate(grabbed["G_ema"].eval(), latents(EVAL_N, 1234, cfg.z_dim))
    return {"swd": swd(reals, fake)["swd"], "train_s": round(seconds)}


def _stamp(t0: float, msg: str) -> None:
    print(f"[{time.perf_counter() - t0:6.0f} s] {msg}", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=None, help="working folder (default: a new temp folder)")
    p.add_argument("--seeds", type=int, nargs="*", default=[0, 1], help="training seeds (none: the data only)")
    p.add_argument("--data-seed", type=int, default=0, help="seed of the crawl and the split")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--width", type=int, default=16, help="G and D widths")
    p.add_argument("--threads", type=int, default=1, help="torch threads while training")
    p.add_argument("--pollution", type=float, default=0.2, help="polluted share of the crawl's crops to aim at")
    p.add_argument("--versions", type=int, default=2, help="times each picture is served (1 = no reposts)")
    p.add_argument("--held-share", type=float, default=0.3, help="share of the good identities held apart")
    p.add_argument("--generated", type=int, default=40, help="generated anime-like pictures")
    p.add_argument("--labels", type=int, default=30, help="labels from the review queue, 10 a round (0: none)")
    p.add_argument("--arms", nargs="+", default=["curated", "labelled", "all", "good"],
                   choices=["curated", "labelled", "all", "good"])
    p.add_argument("--quick", action="store_true", help="a small crawl, 300 steps, one seed")
    a = p.parse_args()
    if a.quick:
        a.steps, a.seeds, a.generated, a.versions = 300, a.seeds[:1], 12, 1
    if not 0 <= a.pollution < 1 or not 0 < a.held_share < 1 or a.versions < 1:
        p.error("--pollution in [0, 1), --held-share in (0, 1), --versions >= 1")
    if "labelled" in a.arms and a.labels <= 0:
        p.error("--arms labelled needs --labels > 0")
    sys.path[:0] = [str(HERE), str(HERE / "bench")]
    out = a.out or Path(tempfile.mkdtemp(prefix="curation-payoff-"))
    out.mkdir(parents=True, exist_ok=True)
    if (out / "ws").exists():
        sys.exit(f"{out} already holds a run; give another --out")
    env = {**os.environ, "GAN_STUDIO_CACHE_DIR": str(out / "cache"), PLANTED_ENV: str(out / "planted.json"),
           "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE / "bench"), os.environ.get("PYTHONPATH", "")])}
    os.environ["GAN_STUDIO_CACHE_DIR"] = env["GAN_STUDIO_CACHE_DIR"]
    t0 = time.perf_counter()

    import gallery_set as gs
    import torch

    from curation.detectors import anime_detector

    rng = np.random.default_rng(a.data_seed)
    scenes, held, polluted = build_crawl(anime_detector(), a, rng)
    ws = out / "ws"
    by_sha = write_workspace(ws, scenes, out / "planted.json")
    _stamp(t0, f"crawl: {len(scenes)} pictures ({len(polluted)} polluted originals) in {ws}; "
               f"{len(held)} held apart")
    n_eval = held_apart_faces(held, out / "eval", out / "eval-work")
    _stamp(t0, f"held apart: {n_eval} good faces")
    print(studio(["curate", "--workspace", str(ws), "--no-progress"], env).strip(), flush=True)
    print(studio(["export", "--workspace", str(ws)], env).strip(), flush=True)
    crops = catalog_crops(ws, by_sha)  # their truth, and the decisions without labels
    decisions = Counter(c["decision"] for c in crops)
    _stamp(t0, "curated and exported (no labels)")
    labels = Counter()
    if a.labels:
        labels = label_rounds(ws, {c["sha256"]: c["kind"] for c in crops}, env, a.labels // 10 or 1,
                              min(a.labels, 10))
        print(studio(["export", "--workspace", str(ws)], env).strip(), flush=True)
        _stamp(t0, f"labelled {sum(labels.values())} crops from the review queue ({dict(labels)}) "
                   "and exported again")

    good_dir = out / "good-crops"
    good_dir.mkdir()
    for c in crops:
        if c["kind"] == gs.GOOD:
            os.link(c["filepath"], good_dir / f"{c['sha256']}.png")
    exports = {"curated": ws / "exports" / "v0001", "labelled": ws / "exports" / "v0002"}
    data = {**{k: v / "images" for k, v in exports.items()}, "all": ws / "faces", "good": good_dir}
    members = {"all": crops, "good": [c for c in crops if c["kind"] == gs.GOOD]}
    for arm, folder in exports.items():
        if folder.is_dir():
            shas = {json.loads(x)["sha256"] for x in (folder / "manifest.jsonl").read_text().splitlines()}
            members[arm] = [c for c in crops if c["sha256"] in shas]
    torch.set_num_threads(a.threads)
    reals = _repeat(_images(out / "eval"))
    from gan.metrics import swd

    summary = {}
    for arm in members:
        got = members[arm]
        kinds = Counter(c["kind"] for c in got)
        n_bad = sum(v for k, v in kinds.items() if k not in (gs.GOOD, gs.AMBIGUOUS))
        summary[arm] = {"images": len(_images(data[arm])), "crops": len(got), "good": kinds[gs.GOOD],
                        "polluted": n_bad, "polluted_share": round(n_bad / max(len(got), 1), 3),
                        "pollution_kinds": {k: v for k, v in kinds.items() if k != gs.GOOD},
                        "data_swd": swd(reals, _repeat(_images(data[arm]), seed=11))["swd"]}
        print(f"{arm:8s} {json.dumps(summary[arm])}", flush=True)
    print(f"decisions without labels: {dict(decisions)}", flush=True)

    results: dict[str, list] = {arm: [] for arm in a.arms}
    for seed in a.seeds:
        for arm in a.arms:
            r = train_and_score(data[arm], out / "runs" / f"{arm}-s{seed}", reals, a, seed)
            results[arm].append(r)
            _stamp(t0, f"seed {seed} {arm}: SWD {r['swd']:.1f} (trained in {r['train_s']} s)")
    machine = (f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
               f"{a.threads} thread(s), load average {os.getloadavg()[0]:.1f} at the end")
    report = {"machine": machine, "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()},
              "eval_faces": n_eval, "pictures": len(scenes), "held_apart_pictures": len(held),
              "sets": summary, "decisions": dict(decisions), "labels": dict(labels), "results": results,
              "minutes": round((time.perf_counter() - t0) / 60, 1)}
    (out / "results.json").write_text(json.dumps(report, indent=2) + "\n")

    print(f"\nmachine: {machine}; {report['minutes']} min in all; working folder {out}")
    print(f"32 px, {a.steps} steps, batch {a.batch}, widths {a.width}, the studio's TrainConfig defaults; "
          f"SWD x1e3 of {EVAL_N} EMA samples against {n_eval} held-apart faces (drawn with repeats)\n")
    print("| trained on | images | polluted share | SWD of the data itself | SWD per seed | mean ± sd |")
    print("|---|---|---|---|---|---|")
    for arm in a.arms:
        vals = [r["swd"] for r in results[arm]]
        s = summary[arm]
        print(f"| {arm} | {s['images']} | {s['polluted']}/{s['crops']} = {s['polluted_share']:.2f} | "
              f"{s['data_swd']:.1f} | {', '.join(f'{v:.1f}' for v in vals) or '—'} | "
              + (f"{np.mean(vals):.1f} ± {np.std(vals):.1f} |" if vals else "— |"))
    for arm in ("curated", "labelled", "good"):
        if results.get(arm) and results.get("all"):
            ratios = [c["swd"] / b["swd"] for c, b in zip(results[arm], results["all"], strict=True)]
            print(f"{arm} / all, per seed: {', '.join(f'{r:.2f}' for r in ratios)}; "
                  f"mean {np.mean(ratios):.2f} (below 1: it pays)")


if __name__ == "__main__":
    main()
