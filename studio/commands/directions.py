"""`studio directions`: latent directions to edit generations with, saved for the app to reload.

`--kind pca`: GANSpace's principal directions of an early generator layer. `--kind labels`: one
direction per value of a catalog field (human labels, their reasons, or the source domain): the
labelled crops are projected into z and each value's mean latent is compared with the rest's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from studio.commands.generator import load_models, read_square
from studio.errors import UserError, user_errors
from studio.options import DeviceOpt, RunOpt, WorkspaceOpt
from studio.workspace import Workspace

FIELDS = ("human_label", "human_reason", "domain")


def default_path(ws: Workspace, kind: str, field: str) -> Path:
    """Where the app looks for saved directions: <workspace>/directions/*.json."""
    return ws.root / "directions" / (f"{kind}.json" if kind == "pca" else f"labels-{field}.json")


def catalog_labels(ws: Workspace, field: str, per_value: int) -> tuple[list[Path], list[str]]:
    """(crop files, label values) from the workspace's catalog, at most `per_value` per value.

    human_label / human_reason: the crops people labelled (curation.catalog.human_labels);
    domain: accepted crops by the domain of the page they came from."""
    from curation.catalog import accepted_by, catalog_exists, filepaths, human_labels, open_catalog

    if not catalog_exists(ws.root):
        raise UserError(f"no catalog in {ws.root}: run `studio curate` first")
    ds = open_catalog(ws.root)
    if field == "domain":
        shas, values = accepted_by(ds, "domain")
    else:
        rows = human_labels(ds)
        shas = [s for s, _, _ in rows]
        values = [lab if field == "human_label" else (reason or "(no reason)") for _, lab, reason in rows]
    files = filepaths(ds, shas)
    taken: dict[str, int] = {}
    paths, labels = [], []
    for sha, value in sorted(zip(shas, values, strict=True)):
        if sha in files and value and taken.get(value, 0) < per_value:
            taken[value] = taken.get(value, 0) + 1
            paths.append(Path(files[sha]))
            labels.append(str(value))
    return paths, labels


def directions(
    kind: Annotated[str, typer.Option("--kind", help="pca or labels.")],
    out: Annotated[Path | None, typer.Option("--out", help="JSON file (default: <workspace>/directions/<kind>.json, "
                                             "where the app's Generate and Project pages find it).")] = None,
    workspace: WorkspaceOpt = Path("studio-data"),
    run: RunOpt = None,
    k: Annotated[int, typer.Option("--k", help="PCA: directions to keep.")] = 10,
    samples: Annotated[int, typer.Option("--samples", help="PCA: random latents to analyse.")] = 2000,
    field: Annotated[str, typer.Option("--field", help="labels: catalog field, one of human_label, human_reason, "
                                       "domain.")] = "human_label",
    per_value: Annotated[int, typer.Option("--per-value", help="labels: crops projected per label value.")] = 64,
    steps: Annotated[int, typer.Option("--steps", help="labels: projection steps per crop.")] = 150,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the latents.")] = 0,
    device: DeviceOpt = "cpu",
) -> None:
    """Compute latent directions (PCA, or from catalog labels) and save them as JSON."""
    from gan.errors import GanError
    from gan.latent import label_directions, pca_directions, project_each, save_directions

    if kind not in ("pca", "labels"):
        raise UserError("--kind must be pca or labels")
    if field not in FIELDS:
        raise UserError(f"--field must be one of {', '.join(FIELDS)}")
    if min(k, samples, per_value, steps) < 1:
        raise UserError("--k, --samples, --per-value and --steps must be >= 1")
    ws = Workspace.at(workspace)
    g, _, ckpt, side = load_models(ws, run, device, with_d=False)
    out = out or default_path(ws, kind, field)
    with user_errors(GanError):
        if kind == "pca":
            dirs = pca_directions(g, n=samples, k=min(k, g.z_dim), seed=seed)
        else:
            import torch

            paths, labels = catalog_labels(ws, field, per_value)
            if not paths:
                raise UserError(f"no crops with a {field} in the catalog")
            crops = torch.stack([read_square(p, side, what="crop") for p in paths])
            z, err = project_each(g, crops, steps=steps, seed=seed)
            dirs = label_directions(z, labels)
            dirs.meta.update(field=field, projection_steps=steps, projection_mse=float(err.mean()))
    dirs.meta.update(checkpoint=str(ckpt))
    save_directions(out, dirs)
    what = ", ".join(dirs.names[:6]) + (f", … ({len(dirs.names)} in all)" if len(dirs.names) > 6 else "")
    typer.echo(f"wrote {len(dirs.names)} {kind} directions ({what}) to {out}")
