"""Training under hostile and unlucky inputs (issue 12): pickles that would touch a file, broken
checkpoints, kills mid-write, resumes, caches and failed starts — real files, real processes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from gan import checkpoint as ck
from gan.data import load_images
from gan.train import train
from tests.gan.gan_helpers import make_images, tiny
from tests.helpers import ONE_THREAD, studio


class _TouchesAFile:
    """Unpickling this opens (creates) `path`: what a crafted weights file could do."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr[-3000:]
    return lines[0]


def _run(tmp_path: Path, image_dir: Path, name: str = "run", **kw):
    logs: list[str] = []
    result = train(tiny(**kw), image_dir, tmp_path / name, log=logs.append)
    return result, logs


@pytest.mark.slow
def test_fid_kid_from_a_random_inception_of_the_real_shape(tmp_path):
    """The FID/KID path end to end without a download: a safetensors file of random weights."""
    from safetensors.torch import save_file

    from gan.inception import random_inception_state
    from gan.metrics import fid_kid

    save_file(random_inception_state(), str(tmp_path / "inception.safetensors"))
    gen = torch.Generator().manual_seed(0)
    real = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8, generator=gen)
    fake = (torch.rand(6, 3, 32, 32, generator=gen) * 60).to(torch.uint8)  # dark: far from real
    logs: list[str] = []
    out = fid_kid(real, fake, str(tmp_path / "inception.safetensors"), torch.device("cpu"), logs.append)
    assert logs == [] and set(out) == {"fid", "kid"} and out["fid"] > 1, (out, logs)


@pytest.mark.slow
def test_inception_pickle_runs_no_code_and_the_run_keeps_its_final_checkpoint(tmp_path, image_dir):
    marker = tmp_path / "touched-by-inception-weights"
    torch.save({"Conv2d_1a_3x3.conv.weight": _TouchesAFile(marker)}, tmp_path / "evil.pth")
    result, logs = _run(tmp_path, image_dir, steps=4, metric_every=2, metric_images=16,
                        inception_weights=str(tmp_path / "evil.pth"))  # two evaluations, one line
    assert not marker.exists()
    assert result.step == 4 and result.checkpoint and result.checkpoint.name == "step-0000004"
    assert "swd" in result.metrics and "fid" not in result.metrics
    said = [m for m in logs if "FID/KID skipped" in m]
    assert len(said) == 1 and "refused to unpickle" in said[0] and "\n" not in said[0], logs


@pytest.mark.cli
def test_state_pickle_is_one_line_and_runs_no_code(tmp_path, image_dir):
    result, _ = _run(tmp_path, image_dir, steps=2)
    marker = tmp_path / "touched-by-state"
    state = result.checkpoint / ck.STATE
    torch.save({"config": {}, "step": _TouchesAFile(marker)}, state)
    proc = studio("sample", "--run", result.run_dir, "--out", tmp_path / "g.png", cwd=tmp_path, env=ONE_THREAD)
    assert proc.returncode == 2 and "cannot read trainer state" in _one_line(proc.stderr)
    proc = studio("train", "--resume", result.run_dir, "--steps", "4", cwd=tmp_path, env=ONE_THREAD)
    assert proc.returncode == 2 and "no readable checkpoint" in _one_line(proc.stderr)
    assert not marker.exists()


@pytest.mark.cli
def test_corrupt_latest_falls_back_temps_go_and_metrics_are_not_repeated(tmp_path, image_dir, capfd):
    result, _ = _run(tmp_path, image_dir, steps=6, keep_last=3)
    run, ckpts = result.run_dir, run_dir_ckpts(result.run_dir)
    assert [c.name for c in ckpts] == ["step-0000002", "step-0000004", "step-0000006"]
    (ckpts[-1] / ck.WEIGHTS).write_bytes((ckpts[-1] / ck.WEIGHTS).read_bytes()[:1000])  # torn
    # what a kill inside save_checkpoint / write_best leaves behind
    (run / "checkpoints" / ".step-0000008.tmp4242").mkdir()
    (run / "checkpoints" / ".step-0000008.tmp4242" / ck.WEIGHTS).write_bytes(b"half")
    (run / "checkpoints" / ".best.json.tmp4242").write_text("{")
    (run / "checkpoints" / ".best.json.k3j_9x0a.tmp").write_text("{")  # atomic_write's temp name
    proc = studio("sample", "--run", run, "--out", tmp_path / "g.png", "--n", "4", cwd=tmp_path, env=ONE_THREAD)
    assert proc.returncode == 0, proc.stderr
    said = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(said) == 1 and "step-0000006" in said[0] and "using step-0000004" in said[0], proc.stderr
    capfd.readouterr()
    resumed = train(tiny(steps=8, keep_last=3), image_dir, run, resume=True, log=lambda m: None)
    said = [line for line in capfd.readouterr().err.splitlines() if "unreadable" in line]
    assert resumed.step == 8 and len(said) == 1 and "using step-0000004" in said[0]
    assert not [p.name for p in (run / "checkpoints").iterdir() if p.name.startswith(".")]
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in lines if "event" not in r]
    assert steps == sorted(set(steps)) == [2, 4, 6, 8], steps  # 6 logged once, not twice
    assert ck.check_checkpoint(run / "checkpoints" / "step-0000006") is None  # rewritten whole


def run_dir_ckpts(run: Path) -> list[Path]:
    return ck.list_checkpoints(run / "checkpoints")


def test_image_cache_stays_out_of_the_data_folder(tmp_path):
    """torchvision's ImageFolder must still read a folder a run has trained on."""
    from torchvision.datasets import ImageFolder

    data = tmp_path / "data"
    make_images(data / "faces", n=4)
    before = sorted(p.relative_to(data) for p in data.rglob("*"))
    first = load_images(data, 32, lambda m: None)
    assert first.cache is not None and data not in first.cache.parents
    assert sorted(p.relative_to(data) for p in data.rglob("*")) == before
    assert len(ImageFolder(str(data))) == 7
    assert load_images(data, 32, lambda m: None).cache == first.cache  # found again
    shutil.rmtree(data)  # a deleted folder's cache goes when the next cache is written
    other = tmp_path / "other"
    make_images(other, n=2)
    assert load_images(other, 32, lambda m: None).cache.is_file() and not first.cache.parent.exists()


@pytest.mark.cli
def test_failed_start_takes_no_run_number_and_leaves_no_folder(tmp_path):
    ws = tmp_path / "ws"
    assert studio("init", "--workspace", ws, cwd=tmp_path, env=ONE_THREAD).returncode == 0
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    proc = studio("train", "--workspace", ws, "--data", bad, "--steps", "2", "--device", "cpu", cwd=tmp_path, env=ONE_THREAD)
    assert proc.returncode == 2 and "could be decoded" in proc.stderr, proc.stderr
    runs = ws / "runs"
    assert not runs.exists() or list(runs.iterdir()) == []
    good = tmp_path / "good"
    if not torch.cuda.is_available():  # a failure before the run folder is even opened
        make_images(good, n=2)
        proc = studio("train", "--workspace", ws, "--data", good, "--device", "cuda", cwd=tmp_path, env=ONE_THREAD)
        assert proc.returncode == 2 and "CUDA is not available" in _one_line(proc.stderr)
        assert list(runs.iterdir()) == []
    make_images(good, n=4)
    shutil.copy(good / "astronaut.jpg", bad / "b.jpg")
    proc = studio("train", "--workspace", ws, "--data", bad, "--steps", "2", "--batch", "4",
                   "--resolution", "32", "--device", "cpu", "--g-width", "8", "--d-width", "8",
                   "--metric-images", "8", cwd=tmp_path, env=ONE_THREAD)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [p.name for p in runs.iterdir()] == ["00000-bad-r32"]  # the number the failure did not take
