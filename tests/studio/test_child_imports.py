"""A received workspace is inert: no Python child of the studio or the app imports from it.

Each test plants packages named like the studio's own (and like multiprocessing, which a spawn
child imports before anything else) in a workspace, each writing a marker file when imported,
then starts the real child process the way the studio does, with the workspace as the working
directory, and checks that the marker never appears and the real code ran.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import free_port, studio, studio_env

pytestmark = pytest.mark.cli

PLANTED = ("studio", "crawler", "curation", "gan", "records", "multiprocessing")


def plant(ws: Path, marker: Path) -> None:
    payload = f"open({str(marker)!r}, 'a').write(__name__ + '\\n')\n"
    for name in PLANTED:
        (ws / name).mkdir(parents=True, exist_ok=True)
        (ws / name / "__init__.py").write_text(payload)
        (ws / name / "__main__.py").write_text(payload)


def new_workspace(tmp_path: Path) -> tuple[Path, Path]:
    ws = tmp_path / "ws"
    studio("init", "-w", ws, "--url", f"http://127.0.0.1:{free_port()}/", check=True)
    marker = tmp_path / "imported-from-the-workspace"
    plant(ws, marker)
    return ws, marker


def test_a_run_started_from_the_app_imports_nothing_from_the_workspace(tmp_path):
    from app import jobs
    from studio.workspace import Workspace

    root, marker = new_workspace(tmp_path)
    ws = Workspace.at(root)
    empty = tmp_path / "no-images"
    empty.mkdir()
    run_dir = ws.runs_dir / "00000-x"
    job = jobs.start(ws, run_dir, jobs.train_command(ws, run_dir, empty, resolution=32, steps=1,
                                                     batch=2, device="cpu"))
    assert jobs._children[job.pid].wait(timeout=120) != 0
    assert not marker.exists(), marker.read_text()
    assert "no images in it" in job.log_tail()  # the real `studio train` ran, and refused


def test_a_pipeline_run_inside_the_workspace_imports_nothing_from_it(tmp_path):
    """`cd ws && studio pipeline -w .`: the crawl stage's child starts in the workspace."""
    ws, marker = new_workspace(tmp_path)
    proc = subprocess.run([str(Path(sys.executable).with_name("studio")), "pipeline", "-w", "."],
                          cwd=ws, env=studio_env(), capture_output=True, text=True, timeout=120)
    assert not marker.exists(), marker.read_text()
    assert proc.returncode == 2, proc.stderr
    assert "no start page could be fetched" in proc.stderr  # the real crawl ran, and said why


def test_curate_workers_started_inside_the_workspace_import_nothing_from_it(tmp_path):
    """curate run in the workspace (as `cd ws && studio curate`): its spawn workers start as
    `python -c "from multiprocessing.spawn import ..."` in the workspace."""
    ws, marker = new_workspace(tmp_path)
    script = tmp_path / "curate_one.py"
    script.write_text(textwrap.dedent("""
        import sys
        from pathlib import Path

        from curation.config import CurateConfig
        from curation.pool import run_pool

        if __name__ == "__main__":
            root = Path(sys.argv[1])
            todo = [("0" * 64, str(root / "raw" / "missing.jpg"))]
            for result in run_pool(todo, CurateConfig(workers=1), root, progress=False):
                print(result.status)
    """))
    proc = subprocess.run([sys.executable, str(script), str(ws)], cwd=ws, env=studio_env(),
                          capture_output=True, text=True, timeout=120)
    assert not marker.exists(), marker.read_text()
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["missing"], proc.stderr  # a real worker looked for the image
