"""`studio train`: train the DCGAN on an export or any folder of images (see docs/training.md)."""

from __future__ import annotations

import inspect
import json
import os
import sys
import typing
from pathlib import Path
from typing import Annotated, Any

import typer

from gan.config import TrainConfig
from studio.config import load_config, override
from studio.errors import UserError, user_errors
from studio.options import WorkspaceOpt
from studio.workspace import Workspace


def _opt(help: str, *names: str):
    return typer.Option(*names, help=help, show_default=False)


# The [train] keys `studio train` takes as flags, with their help: `--ada-target` for ada_target,
# typed as TrainConfig's field (a bool is --x/--no-x), None when not given (studio.toml decides).
# The rest of TrainConfig is set in studio.toml only.
CONFIG_FLAGS: dict[str, str] = {
    "resolution": "Image side: 32, 64, 128 or 256.",
    "steps": "Training steps.",
    "kimg": "Train on this many thousand images instead of --steps.",
    "batch": "Images per step.",
    "device": "auto, cpu, cuda or cuda:N.",
    "seed": "Random seed.",
    "loss": "ns, hinge or rpgan (relativistic pairing).",
    "augment": 'DiffAugment ops, e.g. "translation,cutout,color".',
    "ada_target": "Adaptive augmentation target of E[sign(D(real))] (0.6; 0 = off).",
    "r1_gamma": "R1 penalty weight on reals (0 = off; < 0 = x 0.0002*res^2/batch).",
    "r2_gamma": "R2 penalty weight on fakes (0 = off; < 0 = x the heuristic).",
    "beta1": "Adam beta1 (DCGAN 0.5; R3GAN 0).",
    "xflip": "Mirror half of the training images (left-right symmetric data only).",
    "spectral_norm": "Spectral norm in D.",
    "ema_kimg": "EMA half-life in kimg (0 = off).",
    "g_width": "Generator width.",
    "d_width": "Discriminator width.",
    "log_every": "Steps between log lines.",
    "sample_every": "Steps between sample grids.",
    "ckpt_every": "Steps between checkpoints.",
    "metric_every": "Steps between SWD evaluations (0 = at the end).",
    "metric_images": "Images per evaluation.",
    "inception_weights": "Inception weights file for FID/KID.",
}


def with_config_flags(after: str):
    """Give the command one optional flag per CONFIG_FLAGS key, placed after its parameter
    `after`; the command receives them as keyword arguments (None: not given)."""
    hints = typing.get_type_hints(TrainConfig)

    def flag(name: str) -> inspect.Parameter:
        kind, dash = hints[name], name.replace("_", "-")
        decl = f"--{dash}/--no-{dash}" if kind is bool else f"--{dash}"
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                 annotation=Annotated[kind | None, _opt(CONFIG_FLAGS[name], decl)])

    def decorate(command):
        own = [p for p in inspect.signature(command, eval_str=True).parameters.values()
               if p.kind is not inspect.Parameter.VAR_KEYWORD]
        at = next(i for i, p in enumerate(own) if p.name == after) + 1
        own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
        params = [*own[:at], *(flag(name) for name in CONFIG_FLAGS), *own[at:]]
        command.__signature__ = inspect.Signature(params, return_annotation=None)
        command.__annotations__ = {p.name: p.annotation for p in params}
        return command

    return decorate


@with_config_flags(after="init_from")
def train(
    workspace: WorkspaceOpt = Path("studio-data"),
    data: Annotated[Path | None, _opt("Folder of images (an export or anything else; searched recursively).", "--data")] = None,
    out: Annotated[Path | None, _opt("Run folder (default: <workspace>/runs/<NNNNN-name>).", "--out")] = None,
    resume: Annotated[Path | None, _opt("Continue this run folder (or run id) from its last checkpoint.", "--resume")] = None,
    init_from: Annotated[Path | None, _opt("Start from these weights (run, checkpoint or models/current.json).", "--init-from")] = None,
    notify: Annotated[str | None, _opt("Post a chat message to this webhook when the run ends, stops or fails.",
                                       "--notify")] = None,
    notify_format: Annotated[str, typer.Option("--notify-format", help="slack, discord, json, or auto "
                                               "(from the URL: hooks.slack.com, discord.com/api/webhooks, "
                                               "or a slack+/discord+/json+ prefix).")] = "auto",
    sanity: Annotated[bool, typer.Option("--sanity", help="Only check the setup: overfit ~20 images for a few "
                                         "hundred steps and print a one-line verdict (exit 1 if it fails).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the resolved config and exit.")] = False,
    **flags: Any,  # CONFIG_FLAGS: --resolution, --steps, … (with_config_flags)
) -> None:
    """Train the DCGAN; runs never overwrite each other and can be resumed exactly.

    Ctrl-C (SIGINT) or SIGTERM stops after the current step with a checkpoint; --resume continues."""
    from gan.data import list_images
    from gan.distributed import on_rank0
    from gan.errors import GanError
    from gan.notify import STYLES
    from gan.rundir import discard_unused_run, new_run_dir, read_run_record
    from gan.train import resume_config

    ws = Workspace.at(workspace)
    with user_errors(GanError):
        if resume is not None:
            run_dir = ws.run_path(resume)
            cfg = override(resume_config(run_dir), **flags)
            if data is None:
                data = read_run_record(run_dir).data
        else:
            if out is None and not sanity:
                ws.require()  # numbered runs live in a workspace; --out trains anywhere
            cfg = override(load_config(ws.config_path).train, **flags)
            run_dir = out
        if data is None:
            raise UserError("--data is required: a folder of images (e.g. an export's images/)")
        if not data.is_dir():
            raise UserError(f"--data {data}: no such folder")
        n_files = len(list_images(data))
        if n_files == 0:
            raise UserError(f"--data {data}: no images in it")
        if notify_format not in STYLES:
            raise UserError(f"--notify-format must be one of {', '.join(STYLES)}")
        if sanity:
            _sanity(cfg, data, ws)
            return
        if dry_run:
            typer.echo(json.dumps({"config": cfg.to_dict(), "data": str(data.resolve()), "image_files": n_files,
                                   "run": str(run_dir) if run_dir else f"{ws.runs_dir}/<next>-{data.name}-r{cfg.resolution}",
                                   "resume": resume is not None}, indent=2))
            return
        numbered = run_dir is None
        if numbered:  # under torchrun, rank 0 alone claims the number; the others get its folder
            run_dir = on_rank0(lambda: new_run_dir(ws.runs_dir, f"{data.resolve().name}-r{cfg.resolution}"),
                               cfg.device)
        try:
            result = _run(cfg, data, run_dir, resume is not None, init_from, notify or "", notify_format)
        except BaseException:
            if numbered and int(os.environ.get("RANK", "0")) == 0:
                discard_unused_run(run_dir)  # a failed start keeps no run number, no empty folder
            raise
    if int(os.environ.get("RANK", "0")) != 0:
        return
    if result.stopped:
        ckpt = f"checkpoint {result.checkpoint.name}" if result.checkpoint else "no checkpoint"
        typer.echo(f"run {result.run_dir}: stopped by {result.stopped} at step {result.step} of {result.total} "
                   f"({ckpt}); continue with: studio train --resume {result.run_dir}")
        return
    typer.echo(f"run {result.run_dir}: {result.step} steps, SWD {result.metrics.get('swd', float('nan')):.2f}"
               + (f", best {result.best_checkpoint.name}" if result.best_checkpoint else ""))


def _sanity(cfg, data, ws) -> None:
    """`--sanity`: the one-line verdict; exit 1 when the setup cannot even overfit 20 images."""
    from gan.sanity import sanity_check_in

    result = sanity_check_in(cfg, data, ws.root if ws.root.is_dir() else None)
    typer.echo(result.verdict)
    if not result.passed:
        raise typer.Exit(1)


def _run(cfg, data, run_dir, resume, init_from, notify_url, notify_style):
    from tqdm import tqdm

    from gan.train import train as train_gan

    # A bar where someone watches (stderr is a terminal); otherwise (cron, nohup, a pipe) one line
    # per log window, which a log file or a mail keeps readable.
    on_progress, close = (_progress_bar(cfg) if sys.stderr.isatty() else _progress_lines(cfg))
    try:
        return train_gan(cfg, data, run_dir, resume=resume, init_from=init_from, on_progress=on_progress,
                         notify_url=notify_url, notify_style=notify_style, log=tqdm.write)
    finally:
        close()


def _progress_bar(cfg):
    from tqdm import tqdm

    bar = tqdm(total=cfg.total_steps(), unit="step", dynamic_ncols=True)

    def on_progress(e):
        if e["event"] == "step":
            bar.update(e["step"] - bar.n)
            bar.set_postfix_str(f"{e['img_per_s']:.0f} img/s  D {e['loss_d']:.3f}  G {e['loss_g']:.3f}  "
                                f"D(x) {e['d_real']:.2f}  D(G(z)) {e['d_fake']:.2f}")
        elif e["event"] == "rollback":
            bar.n = e["step"]
            bar.refresh()
        elif e["event"] == "metric" and "swd" in e:
            tqdm.write(f"step {e['step']}: SWD {e['swd']:.2f}, memorised {e['memorized_fraction']:.1%}")

    return on_progress, bar.close


def _progress_lines(cfg):
    """One line on stdout per log window: step, img/s, losses, ETA (flushed: a pipe buffers)."""

    def on_progress(e):
        if e["event"] == "step":
            typer.echo(progress_line(e, cfg.batch))
        elif e["event"] == "metric" and "swd" in e:
            typer.echo(f"step {e['step']}: SWD {e['swd']:.2f}, memorised {e['memorized_fraction']:.1%}")

    return on_progress, lambda: None


def progress_line(e: dict, batch: int) -> str:
    """`step 200/1000 (20%): 85 img/s, loss D 0.693 G 1.234, D(x) 0.51 D(G(z)) 0.49, ETA 1m35s`.

    The ETA is the steps left at the last window's speed (img/s is per process, as the batch)."""
    step, total, rate = e["step"], e["total"], e["img_per_s"]
    left = max(total - step, 0) * batch / rate if rate > 0 else None
    from crawler.progress import duration  # the crawl's progress lines say durations alike

    eta = "done" if step >= total else duration(left) if left is not None else "unknown"
    return (f"step {step}/{total} ({step / max(total, 1):.0%}): {rate:.1f} img/s, "
            f"loss D {e['loss_d']:.3f} G {e['loss_g']:.3f}, D(x) {e['d_real']:.2f} D(G(z)) {e['d_fake']:.2f}, "
            f"ETA {eta}")

