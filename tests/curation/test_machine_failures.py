"""A failure of the machine is not a failure of the image (issue 22): a disk that fills up during
curate leaves the images it could not crop for the next run (and the end line says so), a
workspace that recorded such failures as broken images before gets them retried, and a read-only
workspace is called read-only, not full. Real `studio curate` processes on real tmpfs mounts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from curation.catalog import open_catalog, open_sources
from tests import helpers
from tests.curation.conftest import make_workspace
from tests.helpers import tmpfs

pytestmark = [pytest.mark.slow, pytest.mark.cli]
FILLER = "tests.curation.disk_filler_detector:factory"


def curate(ws: Path, detector: str, **env) -> subprocess.CompletedProcess:
    return helpers.studio("curate", "-w", ws, "--no-progress", "--workers", "1", "--detector",
                          detector, env=env, check=True, timeout=240)


def crops_of(ws: Path) -> set[str]:
    return set(open_catalog(ws).values("sha256"))


def statuses(ws: Path) -> dict[str, str]:
    return dict(zip(*open_sources(ws).values(["sha256", "status"]), strict=True))


def test_a_disk_that_fills_during_curate_leaves_the_images_for_the_next_run(fiftyone_db, tmp_path):
    reference = tmp_path / "reference"  # the same images curated on a disk with room
    make_workspace(reference)
    curate(reference, "human")
    expected = crops_of(reference)
    assert len(expected) >= 8, expected

    with tmpfs(tmp_path / "fs", "272m") as fs:  # `studio curate` wants 256 MiB free to start
        ws = fs / "ws"
        make_workspace(ws)
        filler = fs / "filler"
        full = curate(ws, FILLER, STUDIO_TEST_FILLER=str(filler))
        assert shutil.disk_usage(fs).free < 2**20  # the disk really filled up mid-run
        left = [ln for ln in full.stdout.splitlines() if "left for the next run" in ln]
        assert len(left) == 1 and left[0].endswith(f"left for the next run: no space left on {fs}"), full.stdout
        n_left = int(left[0].split()[0])
        assert n_left >= 3, full.stdout
        got = crops_of(ws)
        assert len(got) < len(expected) and got <= expected
        assert "error" not in statuses(ws).values()  # nothing recorded as a broken image
        assert len(statuses(ws)) == 15 - n_left  # the rest are not recorded at all: still to do

        filler.unlink()  # space freed: the next run crops what the full disk stopped
        again = curate(ws, "human")
        # (+1: make_workspace's missing file, tried on every run)
        assert f"curated {n_left + 1} new images" in again.stdout and "left for the next run" not in again.stdout, again.stdout
        assert crops_of(ws) == expected
        assert "error" not in statuses(ws).values()


def test_an_old_record_of_a_full_disk_is_retried(fiftyone_db, tmp_path):
    """A workspace curated before this fix holds ENOSPC as a per-image `error`: retried."""
    from fiftyone import ViewField as F

    ws = tmp_path / "ws"
    make_workspace(ws)
    curate(ws, "human")
    expected = crops_of(ws)
    sources = open_sources(ws)
    cropped = sources.match(F("crops") > 0)
    victims = cropped.values("sha256")[:3]
    assert len(victims) == 3
    ds = open_catalog(ws)
    ds.delete_samples(ds.match(F("source_sha256").is_in(victims)))  # as the full disk left them
    view = sources.match(F("sha256").is_in(victims))
    view.set_values("status", ["error"] * 3)
    view.set_values("error", ["OSError: [Errno 28] No space left on device"] * 3)
    view.set_values("crops", [0] * 3)
    # An image's own error stays recorded (not retried on every run).
    other = sources.match(F("crops") == 0).match(F("status") == "no_face").first()
    other.status, other.error = "error", "ValueError: a 1-pixel-tall strip"
    other.save()

    again = curate(ws, "human")
    assert "curated 4 new images" in again.stdout  # and the missing file, tried on every run, again.stdout
    assert crops_of(ws) == expected
    assert list(statuses(ws).values()).count("error") == 1


def test_a_read_only_workspace_is_called_read_only_not_full(tmp_path):
    """Its own database (no FIFTYONE_DATABASE_URI), as a user meets it."""
    with tmpfs(tmp_path / "fs", "1g") as fs:
        make_workspace(fs / "ws")
        subprocess.run(["mount", "-o", "remount,ro", str(fs)], check=True)
        proc = helpers.studio("curate", "-w", fs / "ws", "--no-progress", timeout=120,
                              env={"FIFTYONE_DATABASE_URI": None, "STUDIO_DATABASE_FOR": None})
        assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0, proc.stderr
        said = proc.stderr.replace(str(fs), "FS")  # (the test's folder names a workspace)
        assert "read-only" in said and "free space" not in said and "full" not in said, said
        # A database that cannot start there says the same, not "the disk is full".
        from pymongo.errors import ServerSelectionTimeoutError

        from studio.errors import environment_problem

        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("STUDIO_DATABASE_FOR", str(fs / "ws"))
            said = environment_problem(ServerSelectionTimeoutError("connection refused"))
        assert said.startswith(f"the file system of {fs / 'ws'} is read-only"), said
