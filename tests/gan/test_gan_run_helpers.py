"""gan's answers to the pipeline: can a checkpoint warm-start this config, is there anything to
resume in a run folder, and the evaluation draw shared by the loop and the gate."""

from __future__ import annotations

import json

import torch

from gan.checkpoint import save_checkpoint
from gan.config import TrainConfig
from gan.evaluate import draw_reals
from gan.state_io import model_shape_changes, ready_to_resume


def _checkpoint(run, cfg: TrainConfig):
    return save_checkpoint(run / "checkpoints", 10, {"G.w": torch.zeros(1)}, {"step": 10, "config": cfg.to_dict()})


def test_model_shape_changes_names_the_fields_a_warm_start_needs_equal(tmp_path):
    cfg = TrainConfig(resolution=32, g_width=8, d_width=8)
    ckpt = _checkpoint(tmp_path / "run", cfg)
    assert model_shape_changes(ckpt, cfg) == []
    assert model_shape_changes(tmp_path / "run", TrainConfig(resolution=32, g_width=8, d_width=8, steps=5)) == []
    assert model_shape_changes(ckpt, TrainConfig(resolution=64, g_width=16, d_width=8)) == ["resolution", "g_width"]


def test_a_run_killed_before_its_first_checkpoint_is_reset_to_start_again(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    assert not ready_to_resume(run)  # nothing started yet
    (run / "config.json").write_text("{}")
    (run / "metrics.jsonl").write_text('{"step": 1}\n')
    assert not ready_to_resume(run)
    assert not (run / "config.json").exists() and (run / "metrics.attempt-1.jsonl").read_text() == '{"step": 1}\n'
    (run / "config.json").write_text("{}")
    _checkpoint(run, TrainConfig())
    assert ready_to_resume(run) and (run / "config.json").exists()


def test_the_evaluation_draw_is_the_same_for_a_seed_and_repeats_a_small_set():
    reals = torch.arange(10).view(10, 1)
    assert torch.equal(draw_reals(reals, 4, 3), draw_reals(reals, 4, 3))
    assert len(set(draw_reals(reals, 10, 3).flatten().tolist())) == 10  # a permutation
    assert draw_reals(reals, 25, 3).shape == (25, 1)


def test_best_json_and_directions_are_written_whole_and_leave_no_temp(tmp_path):
    from gan import checkpoint as ck
    from gan.latent import Directions, load_directions, save_directions

    ckpt = _checkpoint(tmp_path / "run", TrainConfig())
    ck.write_best(ckpt.parent, ckpt.name, "swd", 0.5, 10)
    assert ck.read_best(ckpt.parent) == {"checkpoint": ckpt.name, "swd": 0.5, "step": 10}
    (ckpt.parent / ".best.json.ab_c12.tmp").write_text("{")  # a writer killed mid-write
    assert ck.clean_stale_temps(ckpt.parent) == [".best.json.ab_c12.tmp"]
    path = save_directions(tmp_path / "d" / "pca.json", Directions(torch.eye(2), torch.tensor([0.6, 0.4])))
    assert load_directions(path, z_dim=2).names == ["PC 1", "PC 2"]
    assert [p.name for p in path.parent.iterdir()] == ["pca.json"]
    assert not [p.name for p in ckpt.parent.iterdir() if p.name.startswith(".")]


def test_resume_point_of_a_run_that_ended_early(tmp_path):
    from gan.rundir import RunRecord, read_metrics
    from gan.state_io import ResumePoint, resume_point

    run = tmp_path / "run"
    run.mkdir()
    cfg = TrainConfig(steps=20)
    assert resume_point(run) is None  # never started
    (run / "config.json").write_text(json.dumps(RunRecord(cfg).to_dict()))
    assert resume_point(run) is None  # no checkpoint yet
    _checkpoint(run, cfg)
    assert resume_point(run) == ResumePoint(10, 20, "")  # killed or crashed: no stop line
    (run / "metrics.jsonl").write_text('{"step": 10, "loss_g": 1}\n{"event": "stopped", "step": 4, "signal": "SIGTERM"}\n'
                                       '{"event": "stopped", "step": 10, "signal": "SIGINT"}\n{"event": "stop')
    assert len(read_metrics(run)) == 3  # the torn last line is skipped
    assert resume_point(run) == ResumePoint(10, 20, "SIGINT")
    assert resume_point(run) == ResumePoint(10, 20, "SIGINT") and (run / "config.json").exists()  # read only
    save_checkpoint(run / "checkpoints", 20, {"G.w": torch.zeros(1)}, {"step": 20, "config": cfg.to_dict()})
    assert resume_point(run) is None  # ran to its end
    (run / "config.json").write_text("{")
    assert resume_point(run) is None  # unreadable record


def test_is_running_is_true_while_a_run_holds_its_lock_and_false_after(tmp_path):
    from gan.rundir import Run, is_running

    path = tmp_path / "00000-run"
    assert not is_running(path) and not (path / ".lock").exists()  # asking creates nothing
    run = Run(path, log=lambda _: None).open(resume=False)
    (path / "config.json").write_text("{}")  # a started run (close() keeps it)
    assert is_running(path)
    run.close()
    assert not is_running(path)


def test_sample_grids_are_the_step_grids_by_step_not_reals_or_memorisation_pairs(tmp_path):
    from gan.rundir import memorization_pairs_path, reals_grid_path, sample_grid_path, sample_grids

    paths = [sample_grid_path(tmp_path, s) for s in (200, 10, 10_000_000)]
    for p in [*paths, reals_grid_path(tmp_path), memorization_pairs_path(tmp_path, 10)]:
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(b"png")
    assert sample_grids(tmp_path) == [(10, paths[1]), (200, paths[0]), (10_000_000, paths[2])]
    assert paths[1].name == "step-0000010.png" and sample_grids(tmp_path / "nothing") == []
