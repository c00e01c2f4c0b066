"""What the latent commands (project, complete, directions) share: the generator they work on,
and the images they are given, checked as the app's uploads are."""

from __future__ import annotations

from pathlib import Path

from studio.errors import UserError, user_errors
from studio.models import model_source
from studio.workspace import Workspace


def read_square(path: Path, side: int, what: str = "IMAGE"):
    """An image file checked as the app's uploads are (curation.files.read_upload: type by content,
    size, bombs), centre-cropped and resized to the generator's side: uint8 (3, side, side)."""
    import numpy as np
    import torch

    from curation.files import ImageDecodeError, read_upload, square

    try:
        im = square(read_upload(path.read_bytes()), side)
    except OSError as exc:
        raise UserError(f"{what} {path}: cannot read it ({exc.strerror or exc})") from None
    except ImageDecodeError as exc:
        raise UserError(f"{what} {path}: {exc}") from None
    return torch.from_numpy(np.array(im)).permute(2, 0, 1).contiguous()


def load_models(ws: Workspace, run: Path | None, device: str, with_d: bool = True):
    """(G, D or None, checkpoint folder, side) of the chosen model."""
    from gan.checkpoint import resolve_checkpoint
    from gan.errors import GanError
    from gan.sampling import load_discriminator, load_generator

    with user_errors(GanError):
        ckpt = resolve_checkpoint(model_source(ws, run))
        g, cfg = load_generator(ckpt, device)
        d = load_discriminator(ckpt, device) if with_d else None
    return g, d, ckpt, cfg.resolution
