"""Human labels survive a crash (issue 22, item 3): real `studio` processes on a workspace's own
mongod, killed with SIGKILL the moment the labels are in the database.

A write that is visible but not yet in MongoDB's journal dies with a `kill -9`; the journal is
flushed only every 100 ms unless a write asks for it (j=True). So each test watches the
database from outside and kills mongod within a millisecond or two of the labels appearing.
Whatever then happens, what was reported saved must still be there after the restart, and what
was not must be finished by the next run, which says so.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote_plus

import pytest

from tests.helpers import REPO, start_studio, studio, studio_env

pytestmark = [pytest.mark.slow, pytest.mark.server, pytest.mark.cli]
OWN_DB = {"FIFTYONE_DATABASE_URI": None, "STUDIO_DATABASE_FOR": None}  # the workspace's own mongod
CROPS, N = 1000, 800  # crops in the catalog; labels an import gives (the rest: the Label page's)

BUILD = """
import hashlib, io, sys
from datetime import UTC, datetime
from pathlib import Path
import numpy as np
from PIL import Image
from curation.catalog import open_catalog
from curation.features import FEATURE_LENGTH

root, n = Path(sys.argv[1]), int(sys.argv[2])
root.mkdir(parents=True)
(root / "studio.toml").write_text("")
(root / "raw").mkdir()
(root / "raw" / "manifest.jsonl").write_text("{}\\n")  # "crawled": the app's data pages open
ds = open_catalog(root)
import fiftyone as fo
buf = io.BytesIO()
Image.new("RGB", (32, 32), (200, 150, 120)).save(buf, "PNG")
(root / "faces").mkdir()
rng, now, batch = np.random.default_rng(0), datetime.now(UTC), []
for i in range(n):
    path = root / "faces" / f"{i:05d}.png"
    path.write_bytes(buf.getvalue())
    emb = rng.standard_normal(256).astype(np.float32)
    p, sha = float(rng.random()), hashlib.sha256(str(i).encode()).hexdigest()
    batch.append(fo.Sample(
        filepath=str(path), path=f"faces/{path.name}", sha256=sha, key=f"{sha}:0",
        domain=f"site{i % 4}.example", embedding=emb / np.linalg.norm(emb),
        features=rng.standard_normal(FEATURE_LENGTH).astype(np.float32), quality=float(rng.random()),
        rule_pollution=p, pollution=p, certainty=abs(p - 0.5), face_px=64, cat=False,
        disagree=False, occluded=False, quality_reasons=[], dup_group=None, decision="accepted",
        reasons=[], added_at=now))
ds.add_samples(batch, progress=False)
print(ds._sample_collection_name)
"""

CLICKER = """
import sys
import pymongo.monitoring
from streamlit.testing.v1 import AppTest
from curation.rescoring import Rescorer


class Updates(pymongo.monitoring.CommandListener):
    concerns = []

    def started(self, event):
        if event.command_name == "update" and "human_label" in str(event.command.get("updates")):
            self.concerns.append(event.command.get("writeConcern", {}))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


pymongo.monitoring.register(Updates())  # before any client exists: it sees every write
Rescorer.request = lambda self: None  # the background rescore would write too: not under test
at = AppTest.from_file(sys.argv[1], default_timeout=120)
at.run()
at.switch_page("label.py").run()
print("ready", flush=True)
for _ in sys.stdin:
    Updates.concerns.clear()
    if not [b for b in at.button if b.key == "accept"]:  # the page ended on an error: reload
        at.run()
    if not [b for b in at.button if b.key == "accept"]:
        shown = [str(e.value)[:120] for e in (*at.exception, *at.error, *at.markdown)][:3]
        print("failed", ["no Accept button", *shown], flush=True)
        continue
    try:
        at.button(key="accept").click().run()
    except Exception as exc:
        print("failed", [f"{type(exc).__name__}: {exc}"[:200]], flush=True)
        continue
    last = [str(c.value) for c in at.caption if str(c.value).startswith("Last: accept ")]
    if at.exception or at.error or not last:  # the page said the click failed
        print("failed", [str(e.value)[:200] for e in (*at.exception, *at.error)], flush=True)
    else:
        print(f"saved {last[0].split()[-1]} {Updates.concerns}", flush=True)
"""


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """A workspace whose own catalog holds CROPS synthetic crops: (root, sample collection)."""
    root = tmp_path_factory.mktemp("durable") / "ws"
    done = subprocess.run([sys.executable, "-c", BUILD, str(root), str(CROPS)], env=studio_env(OWN_DB),
                          capture_output=True, text=True, timeout=240, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    return root, done.stdout.split()[-1]


def sha_of(i: int) -> str:
    """The sha256 of the i-th synthetic crop (as BUILD names them)."""
    return hashlib.sha256(str(i).encode()).hexdigest()


def _server(root: Path) -> dict | None:
    try:
        return json.loads((root / "db" / "studio" / "server.json").read_text())
    except (OSError, ValueError):
        return None


def _client(info: dict):
    """A plain pymongo client of the workspace's mongod (no lease: it watches, it keeps nothing up)."""
    import pymongo

    host = (f"mongodb://{quote_plus(info['socket'])}" if info.get("socket")
            else f"mongodb://127.0.0.1:{info['port']}")
    return pymongo.MongoClient(f"{host}/?directConnection=true", serverSelectionTimeoutMS=300,
                               connectTimeoutMS=300, socketTimeoutMS=1000)


def kill_mongod_when(root: Path, collection: str, query: dict, at_least: int, proc,
                     seconds: float = 120) -> bool:
    """Watch the workspace's database until `query` matches `at_least` documents, then kill -9
    its mongod at once. False if `proc` ended first."""
    import pymongo

    client, pid, deadline = None, None, time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            info = _server(root)
            if info is None:
                time.sleep(0.01)
                continue
            if client is None or info["mongod_pid"] != pid:
                if client is not None:
                    client.close()
                client, pid = _client(info), info["mongod_pid"]
            try:
                n = client["fiftyone"][collection].count_documents(query)
            except pymongo.errors.PyMongoError:
                continue
            if n >= at_least:
                os.kill(pid, signal.SIGKILL)
                return True
        return False
    finally:
        if client is not None:
            client.close()


def exported(root: Path, tmp: Path) -> dict[str, tuple[str, str]]:
    """Every human label as `studio labels export` writes it: {sha256: (label, reason)}."""
    out = tmp / f"export-{time.monotonic_ns()}.csv"
    studio("labels", "export", out, "-w", root, env=OWN_DB, check=True, timeout=180)
    with out.open(encoding="utf-8") as f:
        return {row[0]: (row[1], row[2]) for row in list(csv.reader(f))[1:]}


def write_csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([("sha256", "label", "reason"), *rows])
    return path


@pytest.mark.parametrize("attempt", range(3))
def test_labels_reported_applied_survive_kill_9_of_mongod(ws, tmp_path, attempt):
    root, collection = ws
    tag = f"crash-{attempt}"
    label = ("reject", "accept")[attempt % 2]
    rows = [(sha_of(i), label, tag) for i in range(N)]
    proc = start_studio("labels", "import", write_csv(tmp_path / "in.csv", rows), "-w", root,
                        env=OWN_DB)
    assert kill_mongod_when(root, collection, {"human_reason": tag}, N, proc), \
        f"the import ended before its labels were seen: {proc.communicate()}"
    out, err = proc.communicate(timeout=180)
    if proc.returncode == 0:  # it said the labels are applied: every one must survive
        assert f"applied {N} labels" in out, (out, err)
    else:  # the write was cut: one line, and the next import finishes it
        assert err.strip().count("\n") == 0 and "error" in err, err
        again = studio("labels", "import", write_csv(tmp_path / "empty.csv", []), "-w", root,
                       env=OWN_DB, check=True, timeout=180)
        assert "finished the interrupted import" in again.stderr, again.stderr
    labels = exported(root, tmp_path)
    assert sum(v == (label, tag) for v in labels.values()) == N


def test_an_import_killed_halfway_is_finished_by_the_next_one(ws, tmp_path):
    root, collection = ws
    # 20 reasons: 20 journaled bulk writes, so a kill lands between them.
    rows = [(sha_of(i), "reject", f"half-{i % 20}") for i in range(N)]
    proc = start_studio("labels", "import", write_csv(tmp_path / "in.csv", rows), "-w", root,
                        env=OWN_DB)
    import pymongo

    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        info = _server(root)
        if info is not None:
            try:
                with _client(info) as client:
                    if client["fiftyone"][collection].count_documents(
                            {"human_reason": {"$regex": "^half-"}}) > 0:
                        break
            except pymongo.errors.PyMongoError:
                pass
        time.sleep(0.002)
    proc.kill()
    proc.wait(timeout=30)
    before = sum(r.startswith("half-") for _, r in exported(root, tmp_path).values())
    assert 0 < before < N, f"the kill did not land halfway ({before} of {N} applied)"
    again = studio("labels", "import", write_csv(tmp_path / "empty.csv", []), "-w", root,
                   env=OWN_DB, check=True, timeout=180)
    assert again.stderr.strip().count("\n") == 0, again.stderr
    assert (f"studio: finished the interrupted import of {tmp_path / 'in.csv'}" in again.stderr
            and f"applied the remaining {N - before:,} of its {N:,} labels" in again.stderr), again.stderr
    labels = exported(root, tmp_path)
    assert all(labels[sha] == (label, reason) for sha, label, reason in rows)
    assert not (root / "labels" / "import-pending.json").exists()


def test_label_page_clicks_reported_saved_survive_kill_9_of_mongod(ws, tmp_path):
    """Each click of the Label page's Accept waits for the journal (its update says j: true),
    and mongod killed the moment the page shows the click done loses none of them."""
    root, _ = ws
    child = subprocess.Popen([sys.executable, "-c", CLICKER, str(REPO / "app" / "main.py")],
                             env=studio_env({**OWN_DB, "STUDIO_WORKSPACE": str(root)}), cwd=REPO,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    saved = []
    try:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()[-3000:]
        for _ in range(3):
            # The first click after a restart may meet a pooled connection to the dead mongod:
            # the page shows the error (nothing is claimed saved) and the user clicks again
            # (reloading the page first if the error left it without its buttons).
            tries = []
            for _ in range(3):
                child.stdin.write("click\n")
                child.stdin.flush()
                line = child.stdout.readline().strip()
                said = line.split(maxsplit=2)
                if said[:1] == ["saved"]:
                    break
                assert said[:1] == ["failed"], (line, child.stderr.read()[-3000:] if not line else "")
                tries.append(line)
            else:
                raise AssertionError(f"three clicks in a row failed: {tries}")
            os.kill(_server(root)["mongod_pid"], signal.SIGKILL)  # the page just said "Last: accept …"
            concerns = ast.literal_eval(said[2])
            assert concerns and all(c.get("j") is True for c in concerns), said  # journaled
            saved.append(said[1])
    finally:
        child.stdin.close()
        child.wait(timeout=120)
    labels = exported(root, tmp_path)
    accepted = {sha[:10] for sha, (label, _) in labels.items() if label == "accept"}
    assert len(set(saved)) == 3 and set(saved) <= accepted, (saved, sorted(accepted)[:5])


COUNTS = """
import sys
import fiftyone as fo
from curation.catalog import open_catalog

open_catalog(sys.argv[1])  # connects FiftyOne to the workspace's own mongod
name = "kill-9-counts"
extra = fo.load_dataset(name) if fo.dataset_exists(name) else fo.Dataset(name, persistent=True)
if sys.argv[2] == "add":
    extra.add_samples([fo.Sample(filepath=f"/nowhere/{sys.argv[3]}-{i}.png") for i in range(300)],
                      progress=False)
    print("added", flush=True)
    sys.stdin.readline()  # mongod is killed meanwhile
extra.reload()
print("counts", len(extra), extra._sample_collection.count_documents({}), flush=True)
if sys.argv[2] == "count":
    fo.delete_dataset(name)
"""


def test_the_catalog_counts_every_crop_after_kill_9_of_mongod(ws):
    """WiredTiger saves document counts only at a checkpoint (every 60 s): crops added just
    before a kill -9 would be missing from `len(dataset)` (the Label page then said "run curate"
    and had no Accept button). Both restarts recount: the supervisor's, under a live client, and
    a new supervisor's after the whole server died."""
    root, _ = ws

    def run(*args):
        return subprocess.Popen([sys.executable, "-c", COUNTS, str(root), *args], env=studio_env(OWN_DB),
                                cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def added(proc) -> bool:  # FiftyOne may print a notice first
        return any(line.strip() == "added" for line in proc.stdout)

    proc = run("add", "a")
    try:
        assert added(proc), proc.communicate()[1][-3000:]
        os.kill(_server(root)["mongod_pid"], signal.SIGKILL)
        out, err = proc.communicate("go\n", timeout=120)
    finally:
        proc.kill()
    assert out.split()[-3:] == ["counts", "300", "300"], (out, err[-3000:])

    proc = run("add", "b")
    try:
        assert added(proc), proc.communicate()[1][-3000:]
        info = _server(root)
        os.kill(info["pid"], signal.SIGSTOP)  # the supervisor cannot restart mongod, nor stop it
        os.kill(info["mongod_pid"], signal.SIGKILL)
        os.kill(info["pid"], signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    proc = run("count")
    out, err = proc.communicate(timeout=180)
    assert out.split()[-3:] == ["counts", "600", "600"], (out, err[-3000:])


CONCERNS = """
import asyncio, sys
import mongoengine
from curation.catalog import open_catalog

ds = open_catalog(sys.argv[1])
import fiftyone.core.odm.database as fodb

async def motor():  # the FiftyOne App server's client
    return fodb.get_async_db_client().write_concern.document

print({"pymongo": fodb.get_db_client().write_concern.document,
       "samples": ds._sample_collection.write_concern.document,
       "mongoengine": mongoengine.connection.get_connection().write_concern.document,
       "motor": asyncio.run(motor())})
"""


def test_every_client_fiftyone_writes_through_waits_for_the_journal(ws):
    """Not only the catalog's own label writes: FiftyOne's clients (App tags, set_values, the
    dataset documents) get j=True from the URI of the workspace's database."""
    root, _ = ws
    done = subprocess.run([sys.executable, "-c", CONCERNS, str(root)], env=studio_env(OWN_DB),
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    concerns = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    assert all(c.get("j") is True for c in concerns.values()), concerns


@pytest.mark.parametrize(("uri", "expected"), [
    ("mongodb://db.example:27017", "mongodb://db.example:27017/?journal=true"),
    ("mongodb://u:p@db.example/fo?w=majority", "mongodb://u:p@db.example/fo?w=majority&journal=true"),
    ("mongodb+srv://c.example/?retryWrites=true", "mongodb+srv://c.example/?retryWrites=true&journal=true"),
    ("mongodb://db.example/?journal=false", "mongodb://db.example/?journal=false"),  # said: kept
    ("mongodb://db.example/?w=0", "mongodb://db.example/?w=0"),  # unacknowledged cannot journal
])
def test_an_external_uri_gets_journaled_writes(uri, expected):
    from curation.catalog.connect import journaled_uri

    assert journaled_uri(uri) == expected
    assert journaled_uri(expected) == expected
