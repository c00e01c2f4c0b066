"""`studio complete`: fill a hole in an image with the generator's best guess (Yeh et al. 2017)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from studio.commands.generator import load_models, read_square
from studio.errors import UserError
from studio.options import DeviceOpt, RunOpt, WorkspaceOpt
from studio.workspace import Workspace


def complete(
    image: Annotated[Path, typer.Argument(help="PNG, JPEG or WebP image to complete.")],
    mask: Annotated[str, typer.Option("--mask", help="centre (center), left, right, random, pattern, or a mask "
                                      "image file (white = missing).")],
    out: Annotated[Path, typer.Option("--out", help="PNG of the blended completion.")],
    workspace: WorkspaceOpt = Path("studio-data"),
    run: RunOpt = None,
    steps: Annotated[int, typer.Option("--steps", help="Optimisation steps.")] = 300,
    restarts: Annotated[int, typer.Option("--restarts", help="Latents optimised at once; the best wins.")] = 4,
    blend: Annotated[str, typer.Option("--blend", help="poisson, alpha or none.")] = "poisson",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the starting latents and random masks.")] = 0,
    device: DeviceOpt = "cpu",
) -> None:
    """Complete IMAGE where MASK says pixels are missing; write the blended result."""
    from gan.completion import MASK_KINDS, make_mask
    from gan.completion import complete as complete_image
    from gan.sampling import grid_image

    if steps < 1 or restarts < 1:
        raise UserError("--steps and --restarts must be >= 1")
    if blend not in ("poisson", "alpha", "none"):
        raise UserError("--blend must be poisson, alpha or none")
    kinds = [k for k in MASK_KINDS if k != "custom"] + ["center"]
    if mask not in kinds and not Path(mask).is_file():
        raise UserError(f"--mask {mask}: neither a mask kind ({', '.join(kinds)}) nor an image file")
    ws = Workspace.at(workspace)
    g, d, _, side = load_models(ws, None if run is None else run, device)
    pixels = read_square(image, side)
    if mask in kinds:
        hole = make_mask(mask, side, seed=seed)
    else:
        drawn = read_square(Path(mask), side, what="--mask")
        hole = make_mask("custom", side, custom=drawn.max(0).values.numpy())
    if not hole.any():
        raise UserError(f"--mask {mask}: marks no pixel as missing (white = missing)")
    c = complete_image(g, d, pixels, hole, steps=steps, restarts=restarts, blend=blend, seed=seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    grid_image(c.blended[None]).save(out)
    typer.echo(f"completed {image} ({int(hole.sum())} of {side * side} pixels missing): loss {c.loss:.4f} "
               f"after {steps} steps; wrote {out}")
