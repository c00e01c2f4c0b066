"""`studio sample`: a deterministic sample grid (or interpolation strip + GIF) from a trained G."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from studio.errors import UserError, user_errors
from studio.models import model_source
from studio.options import DeviceOpt, RunOpt, WorkspaceOpt
from studio.workspace import Workspace


def sample(
    out: Annotated[Path, typer.Option("--out", help="PNG file to write.")],
    workspace: WorkspaceOpt = Path("studio-data"),
    run: RunOpt = None,
    n: Annotated[int, typer.Option("--n", help="Images in the grid.")] = 64,
    seed: Annotated[int, typer.Option("--seed", help="Noise seed: same seed, same images.")] = 0,
    truncation: Annotated[float | None, typer.Option("--truncation", help="Redraw latent values beyond ±T.")] = None,
    interpolate_to: Annotated[int | None, typer.Option("--interpolate-to", help="Write a slerp strip from "
                                                       "--seed to this seed (and a .gif beside it).")] = None,
    frames: Annotated[int, typer.Option("--frames", help="Frames of the interpolation.")] = 8,
    raw: Annotated[bool, typer.Option("--raw", help="Use G's raw weights instead of the EMA.")] = False,
    device: DeviceOpt = "cpu",
) -> None:
    """Write a deterministic grid of generated images."""
    from gan.errors import GanError
    from gan.sampling import interpolate, load_generator, sample_grid, save_gif, save_strip

    if n < 1 or frames < 2:
        raise UserError("--n must be >= 1 and --frames >= 2")
    if truncation is not None and truncation <= 0:  # |z| <= T with T <= 0 has no latent at all
        raise UserError(f"--truncation must be > 0 (got {truncation:g}); leave it out for no truncation")
    ws = Workspace.at(workspace)
    source = model_source(ws, run)
    with user_errors(GanError):
        g, _ = load_generator(source, device, ema=not raw)
    out.parent.mkdir(parents=True, exist_ok=True)
    if interpolate_to is not None:
        strip = interpolate(g, seed, interpolate_to, frames, truncation)
        save_strip(strip, out)
        save_gif(strip, out.with_suffix(".gif"))
        typer.echo(f"wrote {out} and {out.with_suffix('.gif')}")
        return
    sample_grid(g, n, seed, truncation).save(out)
    typer.echo(f"wrote {out} ({n} images, seed {seed})")
