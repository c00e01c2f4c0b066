"""Fixtures shared by every area of the test suite, and the fast lane's duration guard.

Two lanes (README, "Tests"): `make check` deselects the tests marked `slow`, `browser`, `server`
or `cli` (pyproject.toml); `make test` runs everything. With STUDIO_CHECK_DURATIONS=<seconds> set,
an unmarked test whose setup or call takes longer fails, naming the markers it should carry.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import gan  # noqa: F401  (before any test module loads torch: OpenMP's passive wait, gan/__init__.py)

LANE_MARKERS = ("slow", "browser", "server", "cli")  # what `make check` deselects

# Whatever the developer's shell points at (a demo's database, an external MongoDB), the suite
# connects only to databases it starts itself.
for _key in ("FIFTYONE_DATABASE_URI", "FIFTYONE_DATABASE_DIR", "FIFTYONE_PRIVATE_DATABASE_PORT",
             "STUDIO_DATABASE_FOR"):
    os.environ.pop(_key, None)


@pytest.fixture(scope="session", autouse=True)
def _private_user_cache(tmp_path_factory):
    """GAN Studio's user cache dir (training image caches, detector files) is a temp folder for
    the whole session, subprocesses included: tests never read or fill the real one."""
    old = os.environ.get("GAN_STUDIO_CACHE_DIR")
    os.environ["GAN_STUDIO_CACHE_DIR"] = str(tmp_path_factory.mktemp("user-cache"))
    yield
    if old is None:
        os.environ.pop("GAN_STUDIO_CACHE_DIR", None)
    else:
        os.environ["GAN_STUDIO_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def fiftyone_db():
    """A real FiftyOne database for the session: the studio's own supervised mongod on a temp
    folder, handed to this process and every `studio` subprocess as FIFTYONE_DATABASE_URI —
    the "external MongoDB" setup, where each workspace's dataset is named by its id.

    Tests of the per-workspace database (tests/curation/test_database.py) drop the URI from
    their subprocesses' environment. Yields the imported `fiftyone` module.
    """
    from curation.catalog.server import ensure_server

    # Outside pytest's basetemp: another pytest session's "keep the last 3 basetemps" clean-up
    # must never delete a live database folder from under this session's mongod.
    db_dir = Path(tempfile.mkdtemp(prefix="studio-test-fiftyone-db-"))
    uri = ensure_server(db_dir)  # this process's lease keeps it up until the session ends
    os.environ["FIFTYONE_DATABASE_URI"] = uri
    os.environ["FIFTYONE_DO_NOT_TRACK"] = "true"
    os.environ["FIFTYONE_DATABASE_VALIDATION"] = "false"
    os.environ["FIFTYONE_SHOW_PROGRESS_BARS"] = "false"
    import fiftyone as fo

    fo.config.database_uri = uri  # in case fiftyone was imported before this fixture ran
    fo.list_datasets()
    yield fo


def _training_images(folder: Path, n: int = 24) -> None:
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    sources = [data.astronaut(), data.chelsea(), data.coffee()]
    for i in range(n):
        src = sources[i % 3]
        y, x = rng.integers(0, src.shape[0] - 128), rng.integers(0, src.shape[1] - 128)
        Image.fromarray(src[y:y + 128, x:x + 128]).save(folder / f"{i:03d}.png")


def _crawl_files(ws: Path) -> None:
    lines = []
    for i, (page, url) in enumerate([("https://a.example/p1", "https://cdn.a.example/1.jpg"),
                                     ("https://a.example/p2", "https://cdn.a.example/2.jpg"),
                                     ("https://www.b.example/", "https://b.example/x.png")]):
        sha = f"{i:064x}"
        lines.append({"url": url, "page_url": page, "sha256": sha, "path": f"raw/{sha[:2]}/{sha}.jpg",
                      "width": 200, "height": 200, "bytes": 1000, "content_type": "image/jpeg",
                      "fetched_at": "2025-01-01T00:00:00Z", "alt": ""})
    (ws / "raw").mkdir(parents=True)
    (ws / "raw" / "manifest.jsonl").write_text("".join(json.dumps(m) + "\n" for m in lines))
    (ws / "crawl" / "20250101T000000Z").mkdir(parents=True)
    (ws / "crawl" / "20250101T000000Z" / "stats.json").write_text(json.dumps(
        {"started_at": "2025-01-01T00:00:00Z", "duration_s": 12.5, "finish_reason": "finished",
         "pages": 3, "images_found": 4, "stored": 3, "duplicates": 1, "rejected": {"too_small": 1}}))


@pytest.fixture(scope="session")
def trained_ws(tmp_path_factory) -> Path:
    """The suite's one tiny trained workspace: a crawl, an export and two runs (20 real CPU steps
    each, 32 px, z size 16); run 0 promoted, its checkpoints at steps 10 and 20.

    Shared by the app's pages and the latent commands (tests/studio): nothing may write into it
    (tests that change files copy it first)."""
    from gan.config import TrainConfig
    from gan.train import train
    from studio.models import promote
    from studio.workspace import Workspace

    ws = tmp_path_factory.mktemp("trained") / "ws"
    ws.mkdir()
    (ws / "studio.toml").write_text("")
    _crawl_files(ws)
    images = ws / "exports" / "v0001" / "images"
    _training_images(images)
    (images.parent / "manifest.jsonl").write_text(  # an export's manifest: it is finished
        "".join(f'{{"path": "images/{f.name}", "sha256": "{f.stem}"}}\n' for f in sorted(images.iterdir())))
    for i, lr in enumerate((2e-4, 5e-4)):
        cfg = TrainConfig(resolution=32, steps=20, batch=8, g_width=8, d_width=8, z_dim=16,
                          device="cpu", log_every=5, sample_every=10, ckpt_every=10, metric_every=0,
                          metric_images=16, compile=False, lr_g=lr, seed=i)
        result = train(cfg, images, ws / "runs" / f"0000{i}-tiny-r32", log=lambda m: None)
    first = ws / "runs" / "00000-tiny-r32"
    promote(Workspace.at(ws), run=first.name, checkpoint=first / "checkpoints" / "step-0000020",
            export="v0001", metrics={"swd": 1.0}, reason="test")
    assert result.step == 20
    return ws


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """STUDIO_CHECK_DURATIONS=10: an unmarked test (or its fixtures' setup) over 10 s fails."""
    outcome = yield
    limit = os.environ.get("STUDIO_CHECK_DURATIONS")
    report = outcome.get_result()
    if not limit or call.when == "teardown" or not report.passed:
        return
    if any(item.get_closest_marker(m) for m in LANE_MARKERS) or call.duration <= float(limit):
        return
    where = "its fixtures' setup" if call.when == "setup" else "it"
    report.outcome = "failed"
    report.longrepr = (f"{item.nodeid}: {where} took {call.duration:.1f} s (over "
                       f"STUDIO_CHECK_DURATIONS={limit}) in the fast lane: mark it "
                       f"{' or '.join(LANE_MARKERS)} (pyproject.toml), or make it faster")
