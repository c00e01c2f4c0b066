"""The pages' view of the FiftyOne catalog, through curation's public API (`curation.catalog`).

One cached dataset handle per process. The queries are curation's (`curation.catalog.queries`:
`filter_crops`, `label_of`, `review_queue`…); their rows are read a page at a time in the database
(skip/limit on the view, only the fields a page shows), so a page stays fast on 100k crops.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import streamlit as st

from studio.workspace import Workspace

GRID_FIELDS = ["id", "sha256", "filepath", "domain", "decision", "quality", "pollution",
               "detector_score", "dup_group", "human_label"]
REJECT_REASONS = ("cat", "mask", "not-a-face", "bad-crop")


@st.cache_resource(show_spinner="Opening the catalog…")
def _dataset(root: str):
    from curation.catalog import open_catalog

    return open_catalog(root)


def dataset(ws: Workspace):
    """The workspace's crop dataset (the database starts once per server process)."""
    ds = _dataset(str(ws.root))
    ds.reload()  # see what `studio curate` or another tab wrote since the last run
    return ds


@st.cache_resource(show_spinner=False)
def _rescorer(root: str):
    from curation.rescoring import Rescorer

    return Rescorer(_dataset(root), root)


def rescorer(ws: Workspace):
    """The server process's background rescorer of this catalog (one thread, debounced)."""
    return _rescorer(str(ws.root))


def has_crawl(ws: Workspace) -> bool:
    return ws.raw_manifest.is_file() and ws.raw_manifest.stat().st_size > 0


def dataset_or_start_here(ws: Workspace):
    """The crop dataset of a data page, or the next step's "start here" box and a stopped page."""
    from app.common import start_here

    if not has_crawl(ws):
        start_here("crawl", ws)
        st.stop()
    if not has_catalog(ws) or not len(ds := dataset(ws)):
        start_here("curate", ws)
        st.stop()
    return ds


def has_catalog(ws: Workspace) -> bool:
    """A catalog may exist: a database was configured or `studio curate` made `db/`. Checked
    first so that looking at an uncurated workspace never starts (or creates) a database."""
    from curation.catalog import database_configured

    return has_crawl(ws) and database_configured(ws.root)


def page_of(view, page: int, size: int, fields: list[str] = GRID_FIELDS,
            order: list[tuple[str, int]] | None = None) -> list[dict[str, Any]]:
    """Rows of one page of `view` (sort, skip and limit run in MongoDB). `order`: (field, 1 or
    -1) pairs, then the hash breaks ties so pages never overlap; default: by hash."""
    keys = [*(order or []), ("sha256", 1)]
    return rows_of(view.sort_by(keys).skip(page * size).limit(size), fields)


def rows_of(view, fields: list[str] = GRID_FIELDS) -> list[dict[str, Any]]:
    """The rows of a small view in its own order (the review queue's)."""
    columns = view.values(fields)
    return [dict(zip(fields, row, strict=True)) for row in zip(*columns, strict=True)]


def domains(ds) -> list[str]:
    return sorted(d for d in ds.distinct("domain") if d)


def crop(ds, sample_id: str) -> dict[str, Any]:
    """Every field of one crop (for the detail view)."""
    sample = ds[sample_id]
    return {name: sample[name] for name in sample.field_names
            if name not in ("embedding", "features", "metadata")}


def funnel(ws: Workspace) -> dict[str, Any] | None:
    """The curation funnel with a pollution rate per domain, or None before the first curate."""
    if not has_catalog(ws):
        return None
    from curation.catalog import CatalogInfo, count_by
    from curation.catalog import funnel as curation_funnel

    ds = dataset(ws)
    if not len(ds):
        return None
    out = curation_funnel(ws.root)
    threshold = CatalogInfo.load(ds).pollution_threshold
    crops, polluted = Counter(), Counter()
    over = {"$gte": [{"$ifNull": ["$pollution", 0]}, threshold]}
    for (domain, is_polluted), n in count_by(ds, "domain", polluted=over).items():
        crops[domain] += n
        polluted[domain] += n if is_polluted else 0
    stages = ("crawled", "detected", "cropped", "unique", "accepted")
    return {
        "stages": {s: out[s] for s in stages},
        "domains": [{"domain": d, **counts,
                     "pollution_rate": polluted[d] / crops[d] if crops[d] else 0.0}
                    for d, counts in out["per_domain"].items()],
    }


def progress(ds) -> dict[str, Any]:
    """Labelled crops, the unlabelled rest, and the learned filter's cross-validated accuracy
    with its 95 % interval and the chance level (`curation.scoring.accuracy_summary`)."""
    from curation.catalog import CatalogInfo, labelled_count
    from curation.scoring import accuracy_summary

    labelled = labelled_count(ds)
    summary = accuracy_summary(CatalogInfo.load(ds).pollution_filter)
    return {"labelled": labelled, "unlabelled": len(ds) - labelled, **summary}


def source_path(ws: Workspace, source_sha256: str) -> Path | None:
    """The raw image a crop was cut from (content-addressed under raw/)."""
    found = list((ws.raw_dir / source_sha256[:2]).glob(f"{source_sha256}.*"))
    return found[0] if found else None
