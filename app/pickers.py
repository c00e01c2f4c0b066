"""The choices the model pages share (Generate, Complete, Project): the model to sample from,
the latent directions (`studio directions`), and the sliders that move a latent along them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from app import common, data
from gan.errors import GanError
from studio.workspace import Workspace

if TYPE_CHECKING:
    from gan.latent import Directions

# gan's torch-backed modules are imported inside the functions: a workspace with no model yet
# shows its "start here" box without loading torch (seconds, and much memory).


def model_choices(ws: Workspace) -> dict[str, Path]:
    """Label → checkpoint folder: the promoted model first, then each run's best (or latest)."""
    found: dict[str, Path] = {}
    promoted = data.promoted(ws)
    if promoted is not None:
        found[f"Promoted: {promoted.pointer['run']}"] = promoted.checkpoint
    runs = data.list_runs(ws)
    if runs:
        from gan.checkpoint import resolve_checkpoint  # torch: paid only once a run exists
    for run in runs:
        try:
            found[f"Run {run.id}"] = resolve_checkpoint(run.path)
        except GanError:
            continue  # no checkpoint yet
    return found


def pick_model(ws: Workspace, key: str | None = None, choose: bool = True) -> Path:
    """The checkpoint folder to use: a "Model" select box over `model_choices` (or, with
    `choose=False`, the first of them: the promoted model when there is one). With no model yet,
    the "start here" box and a stopped page."""
    models = model_choices(ws)
    if not models:
        common.start_here("model", ws)
        st.stop()
    if not choose:
        return next(iter(models.values()))
    return models[st.selectbox("Model", list(models), key=key)]


def saved_directions(ws: Workspace, checkpoint: Path, z_dim: int) -> dict[str, Directions]:
    """Label → Directions of `<workspace>/directions/*.json` that fit this generator's z size;
    files made for another checkpoint say so in their label."""
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


def pick_directions(ws: Workspace, checkpoint: Path, g, key: str) -> Directions:
    """A choice between the PCA directions computed here and the saved ones."""
    options = {"PCA (GANSpace, computed here)": None, **saved_directions(ws, checkpoint, g.z_dim)}
    label = st.selectbox("Directions", list(options), key=f"{key}-source",
                         help="Save more with `studio directions --kind pca|labels` "
                              f"(files in {ws.root / 'directions'}).")
    return options[label] if options[label] is not None else common.pca_directions(checkpoint)


def move_along(z0: np.ndarray, dirs: Directions, key: str, shown: int = 4) -> np.ndarray:
    """Sliders for the first `shown` directions; z0 (1, z_dim) moved by their amounts."""
    from gan.latent import move

    amounts = []
    for i in range(min(shown, len(dirs))):
        var = dirs.variance(i)
        label = dirs.name(i) + (f" ({var:.0%} of variance)" if var is not None else "")
        amounts.append(st.slider(label, -3.0, 3.0, 0.0, 0.25, key=f"{key}-{i}"))
    return move(z0, dirs, amounts)
