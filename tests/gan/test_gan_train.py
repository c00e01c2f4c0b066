import json
import math
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import torch

from gan.checkpoint import list_checkpoints, load_weights
from gan.errors import GanError
from gan.rundir import new_run_dir, read_run_record
from gan.train import train
from tests.gan.gan_helpers import tiny


def test_tiny_run_writes_everything(trained_run):
    run = trained_run.run_dir
    assert trained_run.step == 6
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in lines if "loss_d" in r]
    assert [r["step"] for r in steps] == [2, 4, 6]
    assert all(math.isfinite(r[k]) for r in steps for k in ("loss_d", "loss_g", "d_real", "d_fake", "img_per_s"))
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["resolution"] == 32 and cfg["skipped_images"] == 1 and cfg["images"] == 43
    record = read_run_record(run)  # the reader every other module uses
    assert (record.config.resolution, record.images, record.skipped_images, record.device) == (32, 43, 1, "cpu")
    assert record.data is not None and record.data.is_dir()
    assert (run / "samples" / "step-0000006.png").exists() and (run / "samples" / "reals.png").exists()
    ckpts = list_checkpoints(run / "checkpoints")
    assert [c.name for c in ckpts] == ["step-0000004", "step-0000006"]  # keep_last=2 (+ best = latest)
    state = torch.load(ckpts[-1] / "state.pt", weights_only=True)  # no unpickling of code
    assert state["step"] == 6 and state["config"]["g_width"] == 8
    weights = load_weights(ckpts[-1])
    assert {k.split(".")[0] for k in weights} == {"G", "D", "G_ema"}
    assert math.isfinite(trained_run.metrics["swd"]) and "memorized_fraction" in trained_run.metrics
    assert trained_run.best_checkpoint == ckpts[-1]
    assert list((run / "tb").glob("events.out.tfevents.*"))
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run / "tb"), size_guidance={"images": 0}).Reload()
    assert "samples" in events.Tags()["images"]  # the fixed-noise grids, beside the scalars
    assert [e.step for e in events.Images("samples")][-1] == 6


def test_runs_never_overwrite(trained_run, image_dir, tmp_path):
    with pytest.raises(GanError, match="already holds a run"):
        train(tiny(), image_dir, trained_run.run_dir, log=lambda m: None)
    a, b = new_run_dir(tmp_path, "faces-r32"), new_run_dir(tmp_path, "faces-r32")
    assert (a.name, b.name) == ("00000-faces-r32", "00001-faces-r32")


@pytest.mark.slow
def test_guard_rolls_back_an_injected_nan(image_dir, tmp_path):
    poisoned = []

    def poison(st):
        if st.step == 3 and not poisoned:  # once: a NaN in D's first conv, as a bad batch would leave
            with torch.no_grad():
                st.D.body[0].weight[0, 0, 0, 0] = float("nan")
            poisoned.append(st.step)

    logs = []
    result = train(tiny(steps=6), image_dir, tmp_path / "run", log=logs.append, _after_step=poison)
    assert poisoned == [3] and result.step == 6
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    rb = [r for r in lines if r.get("event") == "rollback"]
    assert len(rb) == 1 and rb[0]["to_step"] == 2 and "non-finite" in rb[0]["reason"]
    assert rb[0]["lr_scale"] == 0.5 and any("rolled back" in m for m in logs)
    assert all(torch.isfinite(t).all() for t in load_weights(result.checkpoint).values())


@pytest.mark.slow
def test_guard_gives_up_on_real_divergence(image_dir, tmp_path):
    with pytest.raises(GanError, match="diverged"):  # an absurd LR blows the weights up for real
        train(tiny(steps=8, lr_d=1e30, lr_g=1e30, guard_retries=2), image_dir, tmp_path / "run", log=lambda m: None)


POSTED: list[dict] = []


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        POSTED.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


def test_notify_posts_to_a_local_server(image_dir, tmp_path):
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        train(tiny(steps=2), image_dir, tmp_path / "run", notify_url=url, log=lambda m: None)
        with pytest.raises(GanError):
            train(tiny(steps=2), image_dir, tmp_path / "run", notify_url=url, log=lambda m: None)  # busy dir
    finally:
        server.shutdown()
    assert [m["event"] for m in POSTED] == ["done", "failed"]
    assert POSTED[0]["step"] == 2 and "swd" in POSTED[0]["metrics"]


def _broken_compiler(gm, example_inputs):
    raise RuntimeError("no working compiler here")  # as a missing Triton or C++ toolchain fails


@pytest.fixture(scope="module")
def eager_run(image_dir, tmp_path_factory):
    """Weights after 2 steps with the default config on the CPU, and which modules the step ran."""
    seen = []
    out = tmp_path_factory.mktemp("eager") / "run"
    r = train(tiny(steps=2), image_dir, out, log=lambda m: None,
              _after_step=lambda st: seen.append((st.g_step is st.G, st.d_step is st.D)))
    return load_weights(r.checkpoint), seen


def test_cpu_runs_eager_by_default(eager_run):
    assert eager_run[1] == [(True, True)] * 2  # compile=true means CUDA; the CPU is not compiled


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["no_such_backend", "gan_test_broken"])
def test_compile_failure_falls_back_to_eager(backend, eager_run, image_dir, tmp_path):
    from torch._dynamo import list_backends, register_backend

    if backend == "gan_test_broken" and backend not in list_backends(exclude_tags=()):
        register_backend(_broken_compiler, name=backend)  # fails at the first compiled call, not at torch.compile
    logs, seen = [], []
    r = train(tiny(steps=2, compile_cpu=True, compile_backend=backend), image_dir, tmp_path / "run", log=logs.append,
              _after_step=lambda st: seen.append((st.g_step is st.G, st.d_step is st.D)))
    said = [m for m in logs if "compile" in m]
    assert len(said) == 1 and said[0].startswith("torch.compile failed (") and said[0].endswith("running eager")
    assert "\n" not in said[0] and r.step == 2 and seen == [(True, True)] * 2  # both networks eager
    weights = load_weights(r.checkpoint)  # the failed trial left no trace: same run as never compiled
    assert all(torch.equal(weights[k], eager_run[0][k]) for k in weights)


@pytest.mark.slow
def test_compile_on_cpu_when_asked(eager_run, image_dir, tmp_path):
    from torch._dynamo.eval_frame import OptimizedModule

    seen = []
    r = train(tiny(steps=2, compile_cpu=True, compile_backend="eager"), image_dir, tmp_path / "run", log=lambda m: None,
              _after_step=lambda st: seen.append(isinstance(st.g_step, OptimizedModule) and isinstance(st.d_step, OptimizedModule)))
    assert seen == [True, True]
    weights = load_weights(r.checkpoint)  # the trial forward/backward moved no BatchNorm statistic or gradient
    assert all(torch.equal(weights[k], eager_run[0][k]) for k in weights)


def test_evaluation_size_follows_the_device():
    from gan.config import TrainConfig

    assert TrainConfig().eval_images("cpu") == 512 and TrainConfig().eval_images("cuda") == 2048
    assert TrainConfig(metric_images=64).eval_images("cuda") == 64
    with pytest.raises(ValueError, match="metric_images"):
        TrainConfig(metric_images=-1).validate()
