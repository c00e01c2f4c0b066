"""`studio project`: find the latent whose generation is closest to an image (see docs/training.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from studio.commands.generator import load_models, read_square
from studio.errors import UserError
from studio.options import DeviceOpt, RunOpt, WorkspaceOpt
from studio.workspace import Workspace


def project(
    image: Annotated[Path, typer.Argument(help="PNG, JPEG or WebP image (a face, ideally cropped like the training set).")],
    out: Annotated[Path, typer.Option("--out", help="PNG of the closest generation.")],
    workspace: WorkspaceOpt = Path("studio-data"),
    run: RunOpt = None,
    steps: Annotated[int, typer.Option("--steps", help="Optimisation steps.")] = 200,
    restarts: Annotated[int, typer.Option("--restarts", help="Latents optimised at once; the best wins.")] = 4,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the starting latents.")] = 0,
    latent: Annotated[Path | None, typer.Option("--latent", help="Also write the latent as JSON here.")] = None,
    device: DeviceOpt = "cpu",
) -> None:
    """Project IMAGE into the generator's latent space: write G(z*) and print its error."""
    from gan.latent import project as project_image
    from gan.sampling import grid_image

    if steps < 1 or restarts < 1:
        raise UserError("--steps and --restarts must be >= 1")
    ws = Workspace.at(workspace)
    g, d, ckpt, side = load_models(ws, run, device)
    target = read_square(image, side)
    p = project_image(g, target, d, steps=steps, restarts=restarts, seed=seed)
    rms = float(((p.image.float() - target.float()) / 255).pow(2).mean().sqrt())
    out.parent.mkdir(parents=True, exist_ok=True)
    grid_image(p.image[None]).save(out)
    if latent is not None:
        latent.parent.mkdir(parents=True, exist_ok=True)
        latent.write_text(json.dumps({"z": p.z.flatten().tolist(), "checkpoint": str(ckpt), "image": str(image),
                                      "rms": rms, "loss": p.loss}) + "\n")
    typer.echo(f"projected {image}: RMS error {rms:.4f} (pixels 0..1) after {steps} steps; wrote {out}"
               + (f" and {latent}" if latent else ""))
