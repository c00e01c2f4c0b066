"""What the Generate and Project pages share: the models to choose from, saved latent
directions (`studio directions`), and the sliders that move a latent along them."""

from __future__ import annotations

import io
from pathlib import Path

import streamlit as st
import torch

from app import common, data
from studio.models import current_checkpoint, read_current
from studio.workspace import Workspace


def png(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def model_choices(ws: Workspace) -> dict[str, Path]:
    """Label → checkpoint folder: the promoted model first, then each run's best (or latest)."""
    from gan.checkpoint import resolve_checkpoint
    from gan.errors import GanError

    found: dict[str, Path] = {}
    promoted = current_checkpoint(ws)
    if promoted is not None and (promoted / "weights.safetensors").is_file():
        found[f"Promoted: {read_current(ws)['run']}"] = promoted
    for run in data.list_runs(ws):
        try:
            found[f"Run {run.id}"] = resolve_checkpoint(run.path)
        except GanError:
            continue  # no checkpoint yet
    return found


def saved_directions(ws: Workspace, checkpoint: Path, z_dim: int) -> dict[str, object]:
    """Label → Directions of `<workspace>/directions/*.json` that fit this generator's z size;
    files made for another checkpoint say so in their label."""
    from gan.errors import GanError
    from gan.latent import load_directions

    found = {}
    for path in sorted((ws.root / "directions").glob("*.json")):
        try:
            dirs = load_directions(path, z_dim)
        except GanError:
            continue
        other = dirs.meta.get("checkpoint") not in (None, str(checkpoint))
        found[f"{path.name}" + (" (made for another checkpoint)" if other else "")] = dirs
    return found


def directions_picker(ws: Workspace, checkpoint: Path, g, key: str):
    """A choice between the PCA directions computed here and the saved ones."""
    options = {"PCA (GANSpace, computed here)": None, **saved_directions(ws, checkpoint, g.z_dim)}
    label = st.selectbox("Directions", list(options), key=f"{key}-source",
                         help="Save more with `studio directions --kind pca|labels` "
                              f"(files in {ws.root / 'directions'}).")
    return options[label] if options[label] is not None else common.pca_directions(checkpoint)


def move_along(z0: torch.Tensor, dirs, key: str, shown: int = 4) -> torch.Tensor:
    """Sliders for the first `shown` directions; z0 (1, z_dim) moved by their amounts."""
    from gan.latent import edit

    moved = z0.clone()
    for i in range(min(shown, len(dirs.directions))):
        var = float(dirs.explained_variance[i])
        label = dirs.name(i) + (f" ({var:.0%} of variance)" if var == var else "")
        amount = st.slider(label, -3.0, 3.0, 0.0, 0.25, key=f"{key}-{i}")
        if amount:
            moved = edit(moved, dirs.directions[i], [amount])
    return moved
