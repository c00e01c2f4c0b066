"""The Train page can be watched: progress with ETA, the step of a running run, sensible
one-point charts, the settings a user tunes and the time they will take (issue 21, item 5)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from app import jobs
from tests.app.app_helpers import assert_clean, open_page, texts

ROOT = Path(__file__).resolve().parents[2]


def _run_with_lines(trained_ws: Path, tmp_path: Path, lines: list[dict]) -> tuple[Path, Path]:
    """A copy of the trained workspace whose first run's metrics.jsonl holds `lines` only."""
    root = shutil.copytree(trained_ws, tmp_path / "ws")
    run = root / "runs" / "00000-tiny-r32"
    (run / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return root, run


@contextmanager
def training(run: Path):
    """Hold the run's OS lock as a training process does: the page sees it running."""
    fd = os.open(run / ".lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        os.close(fd)


def _line(step: int, **kw) -> dict:
    return {"step": step, "kimg": step * 8 / 1000, "loss_d": 1.2, "loss_g": 0.8, "d_real": 0.6,
            "d_fake": 0.4, "img_per_s": 40.0, "lr_scale": 1.0, **kw}


def _progress(at) -> list:
    return [e.proto for e in at.get("progress")]


def _open_run(monkeypatch, root: Path):
    """The Train page with the test run selected, checked for exceptions."""
    at = open_page(monkeypatch, root, "train.py")
    at.selectbox(key="run").set_value("00000-tiny-r32").run()
    assert_clean(at)
    return at


def _runs_row(at):
    """(the runs table, the test run's row)."""
    table = at.dataframe[0].value
    return table, table[table["run"] == "00000-tiny-r32"].iloc[0]


def _charts(at) -> list:
    """The charts of the Runs tab (Compare draws its own)."""
    return list(at.tabs[0].get("vega_lite_chart"))


def test_a_running_run_shows_its_step_progress_and_eta(monkeypatch, trained_ws, tmp_path):
    root, run = _run_with_lines(trained_ws, tmp_path, [_line(5)])
    with training(run):
        at = _open_run(monkeypatch, root)
        _, row = _runs_row(at)
        assert (row["status"], row["step"], row["of"], row["progress"]) == ("running", 5, 20, 0.25)
        (bar,) = _progress(at)
        assert bar.value == 25  # percent
        # 15 steps of batch 8 left at 40 img/s: 3 s
        assert bar.text == "step 5 of 20 · 40 img/s · ETA 3 s"


def test_a_running_run_before_its_first_log_line_is_step_0_not_none(monkeypatch, trained_ws, tmp_path):
    root, run = _run_with_lines(trained_ws, tmp_path, [])
    with training(run):
        at = _open_run(monkeypatch, root)
        table, row = _runs_row(at)
        assert row["step"] == 0 and row["status"] == "running"
        assert "None" not in table.astype(str).to_string()
        (bar,) = _progress(at)
        assert bar.value == 0 and "ETA after the first log line (every 5 steps)" in bar.text


def test_one_point_charts_are_a_sentence_not_an_empty_frame(monkeypatch, trained_ws, tmp_path):
    metric = {"event": "metric", "step": 5, "swd": 12.5, "memorized_fraction": 0.0}
    root, _run = _run_with_lines(trained_ws, tmp_path, [_line(5, augment_p=0.125, ada_signal=0.7), metric])
    at = _open_run(monkeypatch, root)
    assert not _charts(at)  # no chart with one point (and no lone "5.000000" tick)
    page = texts(at)
    assert "**Losses**: one point so far (step 5: loss_d 1.200, loss_g 0.800); the curve starts at the second" \
        in page
    assert "**Augmentation probability (ADA)**: one point so far (step 5: augment_p 0.125)" in page
    assert "**SWD**: one point so far (step 5: swd 12.500)" in page
    assert "Augment p" in [m.label for m in at.metric]


def test_two_points_draw_the_curves_and_p(monkeypatch, trained_ws, tmp_path):
    lines = [_line(5, augment_p=0.0, ada_signal=0.7), _line(10, augment_p=0.05, ada_signal=0.8)]
    root, _run = _run_with_lines(trained_ws, tmp_path, lines)
    at = _open_run(monkeypatch, root)
    assert len(_charts(at)) == 3  # losses, D outputs, p
    assert "one point so far" not in texts(at).split("SWD")[0]


@pytest.mark.cli
def test_the_form_has_the_settings_and_passes_them_to_studio_train(monkeypatch, trained_ws, tmp_path):
    root = shutil.copytree(trained_ws, tmp_path / "ws")
    (root / "studio.toml").write_text("[train]\ng_width = 8\nd_width = 8\n")  # the widths the runs had
    started = []

    def fake_start(ws, run_dir, command):
        started.append(command)
        return jobs.Job(run_dir.name, 2**22 + 1, command, run_dir / "log", "now")

    monkeypatch.setattr(jobs, "start", fake_start)
    at = open_page(monkeypatch, root, "train.py")
    at.selectbox(key="start-resolution").set_value(32).run()
    at.number_input(key="start-steps").set_value(1000).run()
    at.selectbox(key="start-augment").set_value("adaptive").run()
    at.selectbox(key="start-loss").set_value("rpgan").run()
    at.selectbox(key="start-penalty").set_value("r1r2").run()
    at.number_input(key="start-gamma").set_value(0.2).run()
    at.number_input(key="start-ema").set_value(2.0).run()
    at.checkbox(key="start-xflip").check().run()
    # the trained runs logged their img/s at 32 px, widths 8: an estimate, and what it comes from
    assert "Estimated time for 1,000 steps: **" in texts(at)
    assert " img/s on cpu;" in texts(at).split("Estimated time for 1,000 steps:")[1].split("\n")[0]
    at.selectbox(key="start-resolution").set_value(64).run()  # no 64 px run: scaled, and said so
    assert "32 px, widths 8/8, cpu): rough" in texts(at)
    at.selectbox(key="start-resolution").set_value(32).run()
    next(b for b in at.button if b.label == "Start training").click().run()
    assert_clean(at)
    (cmd,) = started
    rest = cmd[cmd.index("--loss"):]
    assert "--xflip" in rest
    rest.remove("--xflip")
    flags = dict(zip(rest[::2], rest[1::2], strict=True))
    assert flags == {"--loss": "rpgan", "--ema-kimg": "2.0", "--augment": "translation,cutout,color",
                     "--ada-target": "0.6", "--r1-gamma": "0.2", "--r2-gamma": "0.2"}
    # and `studio train` takes them as they are
    dry = subprocess.run([*cmd, "--dry-run"], capture_output=True, text=True, cwd=root, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert dry.returncode == 0, dry.stderr
    cfg = json.loads(dry.stdout)["config"]
    assert (cfg["loss"], cfg["ada_target"], cfg["r1_gamma"], cfg["r2_gamma"], cfg["ema_kimg"], cfg["steps"],
            cfg["xflip"]) == ("rpgan", 0.6, 0.2, 0.2, 2.0, 1000, True)


def test_no_estimate_without_a_timed_run(monkeypatch, tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    (root / "studio.toml").write_text("")
    at = open_page(monkeypatch, root, "train.py")
    assert_clean(at)
    assert "Estimated time for 10,000 steps: not known yet" in texts(at)
    keys = {w.key for kind in ("selectbox", "number_input") for w in getattr(at, kind)}
    assert {"start-augment", "start-ema", "start-loss", "start-penalty"} <= keys
    assert at.checkbox(key="start-xflip").value is False  # the default: measured better on lfw faces
    assert sys.executable  # the page never started anything
    assert not (root / ".app").exists()
