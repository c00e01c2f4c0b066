"""`studio demo`: the whole studio on a fresh machine, offline — the README's first command.

Builds the local demo site (images shipped in the scikit-image / scikit-learn wheels, and
generated ones), serves it on 127.0.0.1, creates a workspace (./demo-data) whose studio.toml crawls
that site, runs `studio pipeline` on it with a training config sized for the machine (CPU: minutes;
GPU: longer), stops the site, says what it did and where to look, then opens `studio app` on the
result until Ctrl-C. Run it again: the pipeline is incremental (nothing new on the site: no
download, no training). It only writes to a workspace it created (marker demo.json).
Hidden knobs for tests and quick looks: --steps / STUDIO_DEMO_STEPS, --portraits / STUDIO_DEMO_PORTRAITS.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from records import write_atomic_json, write_atomic_text
from studio.config import config_text, override
from studio.errors import UserError
from studio.options import DemoWorkspaceOpt
from studio.workspace import Workspace

SITE_PORT = 8765  # fixed, so the URLs stay the same from one demo run to the next (incremental)
# One-face portraits in the site's archive (all of lfw_subset's faces): the core site has about 15
# faces, too few for even a rough first GAN.
PORTRAITS = 100

# Sized for 2 CPU cores: a few minutes. Samples after this are rough blobs with face colours.
CPU = {
    # About a minute on 2 idle cores; measured: SWD 106 after 200 steps at widths 16, 49 after
    # 1500 steps at widths 32 with DiffAugment (100 faces are few), and the faces are recognisable.
    "train": {"resolution": 32, "g_width": 32, "d_width": 32, "batch": 32, "lr_ref_batch": 32,
              "augment": "translation,color",
              "log_every": 50, "sample_every": 250, "ckpt_every": 250, "metric_every": 0,
              "metric_images": 128},
    "pipeline": {"min_new_accepted": 1, "steps": 1500, "eval_images": 128},
}
# With a GPU the same data trains ten times longer at 64 px.
GPU = {
    "train": {"resolution": 64, "g_width": 64, "d_width": 64, "batch": 64, "augment": "translation,cutout,color",
              "log_every": 100, "sample_every": 500, "ckpt_every": 500, "metric_every": 0,
              "metric_images": 512},
    "pipeline": {"min_new_accepted": 1, "steps": 3000, "eval_images": 512},
}
COMMON = {
    # Our own site on 127.0.0.1: no need to wait between requests.
    "crawl": {"download_delay": 0.0, "autothrottle": False},
    # The demo's people are LFW photos: human faces (OpenCV's Haar cascade ships with OpenCV).
    "curate": {"detector": "human"},
}


def demo_config(template: str, url: str, gpu: bool) -> str:
    """The template studio.toml with the demo's sources and sizes set (comments kept)."""
    sizes = GPU if gpu else CPU
    values = {"sources": {"urls": [url]}}
    for section in ("crawl", "curate", "train", "pipeline"):
        values[section] = {**COMMON.get(section, {}), **sizes.get(section, {})}
    return config_text(values, template)


MARKER = "demo.json"  # in a workspace `studio demo` created: it may rewrite that one's sources


def free_port(preferred: int) -> int:
    """`preferred` if it is free on 127.0.0.1, else any free port (0 = any free port)."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_demo_workspace(ws: Workspace) -> bool:
    """Created by `studio demo` (its marker; or, before the marker existed, a site/ and local sources)."""
    if (ws.root / MARKER).is_file():
        return True
    from studio.config import load_config

    urls = load_config(ws.config_path).sources.urls
    return (ws.root / "site").is_dir() and bool(urls) and all(u.startswith("http://127.0.0.1:") for u in urls)


@contextmanager
def serve_site(site_dir: Path) -> Iterator:
    """The demo site on SITE_PORT, or on any free port when that one is taken (no check-then-bind race)."""
    from studio.demo.server import serve

    try:
        cm = serve(site_dir, port=SITE_PORT)
        site = cm.__enter__()
    except OSError:
        cm = serve(site_dir, port=0)
        site = cm.__enter__()
    try:
        yield site
    finally:
        cm.__exit__(None, None, None)


def prepare_workspace(ws: Workspace, url: str, gpu: bool) -> str:
    """Create the demo workspace, or point an existing demo workspace at today's site URL."""
    from studio.config import TEMPLATE, load_config

    if not ws.exists():
        ws.root.mkdir(parents=True, exist_ok=True)
        write_atomic_text(ws.config_path, demo_config(TEMPLATE.read_text(), url, gpu))
        write_atomic_json(ws.root / MARKER, {"created_by": "studio demo", "gpu": gpu})
        return f"created the workspace {ws.root} (settings in {ws.config_path.name})"
    if not is_demo_workspace(ws):
        raise UserError(f"{ws.root} is a workspace `studio demo` did not create; it will not change its "
                        "sources. Use another folder: studio demo --workspace DIR")
    if load_config(ws.config_path).sources.urls != [url]:
        # The site moved to another port (8765 was taken): the crawl re-reads it under the new URLs;
        # images are content-addressed, so nothing is stored twice.
        write_atomic_text(ws.config_path, config_text({"sources": {"urls": [url]}}, ws.config_path.read_text()))
    return (f"reusing the existing demo workspace {ws.root}: this run is incremental (start afresh: "
            f"delete {ws.root} or use --workspace DIR)")


def demo(
    workspace: DemoWorkspaceOpt = Path("demo-data"),
    port: Annotated[int, typer.Option(min=0, max=65535,
                                      help="Port of `studio app` on 127.0.0.1 (0: any free port).")] = 8501,
    no_app: Annotated[bool, typer.Option("--no-app", help="Stop after the pipeline.")] = False,
    steps: Annotated[int | None, typer.Option(
        min=1, hidden=True, envvar="STUDIO_DEMO_STEPS",
        help="Training steps of this run instead of the config's (tests, quick looks).")] = None,
    portraits: Annotated[int, typer.Option(
        min=0, max=PORTRAITS, hidden=True, envvar="STUDIO_DEMO_PORTRAITS",
        help="One-face portraits in the demo site's archive (tests: fewer images, a faster crawl).")] = PORTRAITS,
) -> None:
    """The offline demo: local site → studio pipeline (crawl … promote) → studio app."""
    ws = Workspace.at(workspace)
    if ws.exists() and not is_demo_workspace(ws):  # refuse before building or serving anything
        prepare_workspace(ws, "", False)
    import torch

    from studio.config import load_config
    from studio.demo.site import build_demo_site
    from studio.models import current, run_dir
    from studio.pipeline import run_pipeline
    from studio.report import outcome

    app_port = 0 if no_app else free_port(port)
    if not no_app and port and app_port != port:
        typer.echo(f"(port {port} is taken, e.g. by an earlier `studio demo`; the app will use {app_port})")
    gpu = torch.cuda.is_available()
    site_dir = ws.root / "site"
    typer.echo(f"1. building the demo site in {site_dir} (images shipped with scikit-image and "
               "scikit-learn, and generated ones; nothing is downloaded)")
    build_demo_site(site_dir, portraits=portraits)
    with serve_site(site_dir) as site:
        typer.echo(f"2. serving it at {site.url}")
        typer.echo(f"3. {prepare_workspace(ws, site.url, gpu)}")
        cfg = load_config(ws.config_path)
        if steps is not None:
            cfg = dataclasses.replace(cfg, pipeline=override(cfg.pipeline, steps=steps))
        steps_, side = cfg.pipeline.steps, cfg.train.resolution
        if gpu:
            typer.echo(f"4. running `studio pipeline` (GPU: {steps_} steps at {side} px)")
        else:
            typer.echo(f"4. running `studio pipeline` (no GPU: a short CPU training, {steps_} steps at "
                       f"{side} px — a few minutes; the samples will be rough. With a GPU it trains longer.)")
        report = run_pipeline(ws, cfg, log=lambda m: typer.echo(f"   {m}"))
    typer.echo(f"   (the demo site at {site.url} is stopped)")
    this_run = ws.runs_dir / report["run"]
    pointer = current(ws)
    promoted = run_dir(ws, pointer) if pointer else None
    export = getattr(outcome(report, "export"), "version", None)
    typer.echo("")
    typer.echo(f"Done: {report['decision']}")
    typer.echo("Where to look:")
    rows = [("report", this_run / "report.md"),
            ("dataset", f"{ws.exports_dir / export if export else ws.exports_dir} (crops in {ws.faces_dir})")]
    if promoted is not None:
        rows.append(("promoted model", f"{promoted / pointer['checkpoint']} (pointer {ws.current_model})"))
        if (promoted / "samples").is_dir():
            rows.append(("samples", promoted / "samples"))
    else:
        rows.append(("promoted model", "none yet (see the report)"))
    rows += [("status", f"studio status --workspace {ws.root}"),
             ("a sample grid", f"studio sample --workspace {ws.root} --out grid.png")]
    if no_app:
        rows.append(("the app", f"studio app --workspace {ws.root}"))
    for label, value in rows:
        typer.echo(f"  {label:<16}{value}")
    if no_app:
        return
    from studio.commands.app import run_app

    typer.echo("5. opening the studio app on the result (Ctrl-C stops)")
    run_app(workspace=ws.root, port=app_port)
