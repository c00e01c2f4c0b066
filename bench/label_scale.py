"""Labelling at scale: what a click on the Label page costs, and the review queue, Browse,
Overview and the background rescore, on synthetic catalogs of 1k / 10k / 30k / 100k crops in the
studio's own per-workspace database (a real mongod, real FiftyOne).

    .venv/bin/python bench/label_scale.py [--sizes 1000 10000 30000 100000] [--clicks 25]

Prints one table: click median / p90, queue, browse page, overview funnel, background rescore,
export (hard links of the accepted crops) and the process's peak RSS. Crops are synthetic rows
(random embeddings and features, a few duplicate groups) pointing at one tiny PNG each.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build(root: Path, n: int, rng: np.random.Generator):
    """A workspace whose catalog holds n crops (inserted in bulk, as curate's batches do)."""
    from curation.catalog import open_catalog
    from curation.features import FEATURE_LENGTH

    root.mkdir(parents=True)
    (root / "studio.toml").write_text("")
    ds = open_catalog(root)  # configures fiftyone for this workspace's database first
    import fiftyone as fo

    (root / "faces").mkdir()
    png = _tiny_png()
    now = datetime.now(UTC)
    domains = [f"site{k}.example" for k in range(8)]
    for start in range(0, n, 5000):
        batch = []
        for i in range(start, min(n, start + 5000)):
            emb = rng.standard_normal(256).astype(np.float32)
            feats = rng.standard_normal(FEATURE_LENGTH).astype(np.float32)
            p = float(rng.random())
            (root / "faces" / f"{i:06d}.png").write_bytes(png)  # for the export
            batch.append(fo.Sample(
                filepath=str(root / "faces" / f"{i:06d}.png"), path=f"faces/{i:06d}.png",
                sha256=f"{i:064x}", key=f"{i:064x}:0", domain=domains[i % 8],
                embedding=emb / np.linalg.norm(emb), features=feats, quality=float(rng.random()),
                rule_pollution=p, pollution=p, certainty=abs(p - 0.5), face_px=64,
                cat=bool(rng.random() < 0.02), disagree=False, occluded=False,
                quality_reasons=[], dup_group=f"g{i // 2}" if i % 50 < 2 else None,
                decision="accepted", reasons=[], added_at=now))
        ds.add_samples(batch, progress=False)
    return ds


def _tiny_png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 150, 120)).save(buf, "PNG")
    return buf.getvalue()


def click(ds, rescorer, sha: str, label: str) -> None:
    from curation.catalog import set_label

    set_label(ds, sha, label, "bench")
    rescorer.request()


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def measure(n: int, clicks: int, rng: np.random.Generator) -> dict:
    from app.catalog_view import page_of
    from curation.catalog import CropFilters, filter_crops, funnel, review_queue
    from curation.export import export
    from curation.rescoring import Rescorer, rescore_now

    root = Path(tempfile.mkdtemp(prefix=f"bench-label-{n}-")) / "ws"
    t_build, ds = timed(build, root, n, rng)
    rescore_now(ds)  # a first full pass, as curate leaves it
    rescorer = Rescorer(ds, root, debounce=0.5)
    click_s, queue_s = [], []
    for k in range(clicks):
        t, rows = timed(lambda: review_queue(ds, 9).values("sha256"))
        queue_s.append(t)
        label = "reject" if k % 3 == 0 else "accept"
        # What a click on the Label page runs: the label now, the rescore in the background.
        t, _ = timed(click, ds, rescorer, rows[0], label)
        click_s.append(t)
    rescorer.wait_idle(3600)
    t_rescore, _ = timed(rescore_now, ds)
    t_browse, _ = timed(page_of, filter_crops(ds, CropFilters(decision="accepted")), 3, 48)
    t_funnel, _ = timed(funnel, root, [])
    t_export, _ = timed(export, root, None, lambda msg: None)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    from curation.catalog import connect

    connect._cache.clear()
    ds.delete()
    shutil.rmtree(root.parent, ignore_errors=True)
    return {"crops": n, "build_s": t_build, "click_med": statistics.median(click_s),
            "click_p90": sorted(click_s)[int(0.9 * (len(click_s) - 1))],
            "queue_med": statistics.median(queue_s), "browse": t_browse, "funnel": t_funnel,
            "rescore": t_rescore, "export": t_export, "rss_mb": rss}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 30000, 100000])
    ap.add_argument("--clicks", type=int, default=25)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # one size, in this process
    args = ap.parse_args()
    if args.one:  # a workspace's own database is one per process: each size in its own
        print(json.dumps(measure(args.one, args.clicks, np.random.default_rng(0))))
        return
    rows = []
    for n in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n), "--clicks",
                              str(args.clicks)], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"{n} crops measured", file=sys.stderr, flush=True)
    print("| crops | click median | click p90 | queue median | browse page | overview funnel "
          "| background rescore | export | peak RSS |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['crops']:,} | {r['click_med'] * 1000:.0f} ms | {r['click_p90'] * 1000:.0f} ms "
              f"| {r['queue_med'] * 1000:.0f} ms | {r['browse'] * 1000:.0f} ms "
              f"| {r['funnel'] * 1000:.0f} ms | {r['rescore']:.1f} s | {r['export']:.1f} s "
              f"| {r['rss_mb']:.0f} MB |")


if __name__ == "__main__":
    main()
