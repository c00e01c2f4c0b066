"""`studio demo`: the whole studio on a fresh machine, offline — the README's first command.

Builds the local demo site (images from scikit-image / scikit-learn and generated ones), serves it
on 127.0.0.1, creates a workspace (./demo-data) whose studio.toml crawls that site, runs
`studio pipeline` on it with a training config sized for the machine (CPU: minutes; GPU: longer),
says what it did and where to look, then opens `studio app` on the result until Ctrl-C.
Run it again: the pipeline is incremental (nothing new on the site: no download, no training).
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated

import typer

from studio.options import WorkspaceOpt
from studio.workspace import Workspace, atomic_write_text

SITE_PORT = 8765  # fixed, so the URLs stay the same from one demo run to the next (incremental)

# Sized for 2 CPU cores: a few minutes. Samples after this are rough blobs with face colours.
CPU = {
    "train": {"resolution": 32, "g_width": 16, "d_width": 16, "batch": 32, "lr_ref_batch": 32,
              "log_every": 25, "sample_every": 100, "ckpt_every": 100, "metric_every": 0,
              "metric_images": 128},
    "pipeline": {"min_new_accepted": 1, "steps": 200, "eval_images": 128},
}
# With a GPU the same data trains ten times longer at 64 px.
GPU = {
    "train": {"resolution": 64, "g_width": 64, "d_width": 64, "batch": 64, "augment": '"translation,cutout,color"',
              "log_every": 100, "sample_every": 500, "ckpt_every": 500, "metric_every": 0,
              "metric_images": 512},
    "pipeline": {"min_new_accepted": 1, "steps": 3000, "eval_images": 512},
}
COMMON = {
    # Our own site on 127.0.0.1: no need to wait between requests.
    "crawl": {"download_delay": 0.0, "autothrottle": "false"},
    # The demo's people are LFW photos: human faces (OpenCV's Haar cascade ships with OpenCV).
    "curate": {"detector": '"human"'},
}


def demo_config(template: str, url: str, gpu: bool) -> str:
    """The template studio.toml with the demo's sources and sizes set (comments kept)."""
    text = template.replace("urls = []", f'urls = ["{url}"]', 1)
    sizes = GPU if gpu else CPU
    for section in ("crawl", "curate", "train", "pipeline"):
        for key, value in {**COMMON.get(section, {}), **sizes.get(section, {})}.items():
            text = set_key(text, section, key, value)
    return text


def set_key(text: str, section: str, key: str, value) -> str:
    lines = text.split("\n")
    start = lines.index(f"[{section}]")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    for i in range(start + 1, end):
        if lines[i].startswith(f"{key} ="):
            comment = lines[i].partition("#")[2]
            lines[i] = f"{key} = {value}" + (f"  # {comment.strip()}" if comment else "")
            return "\n".join(lines)
    lines.insert(start + 1, f"{key} = {value}")
    return "\n".join(lines)


def free_port(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]


def demo(
    workspace: WorkspaceOpt = Path("demo-data"),
    port: Annotated[int, typer.Option(help="Port of `studio app` on 127.0.0.1.")] = 8501,
    no_app: Annotated[bool, typer.Option("--no-app", help="Stop after the pipeline.")] = False,
) -> None:
    """The offline demo: local site → studio pipeline (crawl … promote) → studio app."""
    import torch

    from studio.config import TEMPLATE, load_config
    from studio.demo_site import build_demo_site, serve
    from studio.pipeline import run_pipeline

    ws = Workspace.at(workspace)
    gpu = torch.cuda.is_available()
    site_dir = ws.root / "site"
    typer.echo(f"1. building the demo site in {site_dir} (images shipped with scikit-image and "
               "scikit-learn, and generated ones; nothing is downloaded)")
    build_demo_site(site_dir)
    site_port = free_port(SITE_PORT)
    with serve(site_dir, port=site_port) as site:
        typer.echo(f"2. serving it at {site.url}")
        if not ws.exists():
            ws.root.mkdir(parents=True, exist_ok=True)
            atomic_write_text(ws.config_path, demo_config(TEMPLATE.read_text(), site.url, gpu))
            typer.echo(f"3. created the workspace {ws.root} (settings in {ws.config_path.name})")
        else:
            text = ws.config_path.read_text()
            cfg = load_config(ws.config_path)
            if cfg.sources.urls != [site.url]:
                atomic_write_text(ws.config_path, set_key(text, "sources", "urls", f'["{site.url}"]'))
            typer.echo(f"3. reusing the workspace {ws.root}: this run is incremental")
        cfg = load_config(ws.config_path)
        steps, side = cfg.pipeline.steps, cfg.train.resolution
        if gpu:
            typer.echo(f"4. running `studio pipeline` (GPU: {steps} steps at {side} px)")
        else:
            typer.echo(f"4. running `studio pipeline` (no GPU: a short CPU training, {steps} steps at "
                       f"{side} px — a few minutes; the samples will be rough. With a GPU it trains longer.)")
        report = run_pipeline(ws, cfg, log=lambda m: typer.echo(f"   {m}"))
    run_dir = ws.runs_dir / report["run"]
    typer.echo("")
    typer.echo(f"Done: {report['decision']}")
    typer.echo("Where to look:")
    typer.echo(f"  report         {run_dir / 'report.md'}")
    if (run_dir / "samples").is_dir():
        typer.echo(f"  samples        {run_dir / 'samples'}")
    typer.echo(f"  dataset        {ws.exports_dir} (crops in {ws.faces_dir})")
    typer.echo(f"  promoted model {ws.current_model}")
    typer.echo(f"  status         studio status --workspace {workspace}")
    typer.echo(f"  a sample grid  studio sample --workspace {workspace} --out grid.png")
    if no_app:
        typer.echo(f"  the app        studio app --workspace {workspace}")
        return
    from studio.commands.app import run_app

    typer.echo("5. opening the studio app on the result (Ctrl-C stops)")
    run_app(workspace=ws.root, port=port)
