"""Lineage: run ← export version ← crawls + label state ← sources.

Each pipeline export gets `exports/<version>/lineage.json` (the crawls and the label state it was
made from); each run's `config.json` names its data folder (gan writes it). `chain(ws)` follows
the promoted model back to its sources for `studio status`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from crawler.report import list_crawls
from crawler.stats import CrawlStats
from curation.export import export_of_data, export_shas, read_export_stats
from gan.rundir import read_run_record
from records import read_json, write_atomic_json
from studio.models import current, run_dir
from studio.workspace import Workspace

LINEAGE = "lineage.json"


def crawls(ws: Workspace) -> list[dict[str, Any]]:
    """Every finished crawl (crawl/<id>/stats.json), oldest first: id, start URLs, what it stored."""
    out = []
    for crawl in list_crawls(ws.crawl_dir):
        stats = crawl.stats or CrawlStats(started_at=None)  # a damaged stats.json: the crawl, no numbers
        out.append({
            "crawl": crawl.id,
            "started_at": stats.started_at,
            "start_urls": stats.start_urls,
            "pages": stats.pages,
            "stored": stats.stored,
        })
    return out


def label_state(labels: list[tuple[str, str, str]]) -> dict[str, Any]:
    """A fingerprint of the human labels (sha256, label, reason): counts and a digest."""
    digest = hashlib.sha256(json.dumps(sorted(labels)).encode()).hexdigest()
    return {
        "labels": len(labels),
        "accept": sum(1 for _, lab, _ in labels if lab == "accept"),
        "reject": sum(1 for _, lab, _ in labels if lab == "reject"),
        "digest": digest[:16],
    }


def write_export_lineage(export_dir: Path, *, crawl_list: list[dict], labels: dict, run: str) -> dict:
    record = {
        "export": export_dir.name,
        "crawls": [c["crawl"] for c in crawl_list],
        "sources": sorted({u for c in crawl_list for u in c["start_urls"]}),
        "label_state": labels,
        "made_by": run,
    }
    write_atomic_json(export_dir / LINEAGE, record)
    return record


def export_of_run(ws: Workspace, run: Path) -> Path | None:
    """The export of this workspace a run trained on (from its record's data folder), if any."""
    record = read_run_record(run)
    return export_of_data(ws.exports_dir, record.data) if record else None


def chain(ws: Workspace) -> dict[str, Any] | None:
    """The promoted model back to its sources, or None when nothing is promoted."""
    pointer = current(ws)
    if pointer is None:
        return None
    run = run_dir(ws, pointer)
    export = export_of_run(ws, run)
    lineage = read_json(export / LINEAGE) if export else None
    stats = read_export_stats(export) if export else None
    return {
        "model": {"run": pointer["run"], "checkpoint": pointer.get("checkpoint"),
                  "metrics": {k: v for k, v in (pointer.get("metrics") or {}).items()
                              if isinstance(v, int | float)},
                  "promoted_at": pointer.get("promoted_at")},
        "export": None if export is None else {
            "version": export.name,
            "images": (stats or {}).get("images", len(export_shas(export))),
        },
        "crawls": (lineage or {}).get("crawls"),
        "label_state": (lineage or {}).get("label_state"),
        "sources": (lineage or {}).get("sources"),
    }
