"""Read-only views of the workspace files the pages show: crawl manifest and stats, runs.

Plain functions over files (no Streamlit), so the pages stay thin and the tests can call them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.manifest import read_manifest
from crawler.report import list_crawls
from curation.catalog import domain_of
from curation.export import export_of_data
from gan.rundir import RunRecord, is_running, read_run_record
from gan.rundir import sample_grids as sample_grids  # the Train page's grids, named by gan
from records import iter_jsonl, read_json
from studio.models import current, run_dir
from studio.workspace import Workspace


def source_domains(ws: Workspace) -> list[dict[str, Any]]:
    """Per source domain (the host of the page an image was found on): URLs and unique images."""
    urls: Counter[str] = Counter()
    images: dict[str, set[str]] = {}
    for m in read_manifest(ws.raw_manifest):
        domain = domain_of(m.get("page_url") or m.get("url"))  # as the catalog names it
        urls[domain] += 1
        images.setdefault(domain, set()).add(m.get("sha256", ""))
    rows = [{"domain": d, "image_urls": n, "images": len(images[d])} for d, n in urls.items()]
    return sorted(rows, key=lambda r: (-r["images"], r["domain"]))


def crawl_history(ws: Workspace) -> list[dict[str, Any]]:
    """The stats.json of every crawl, oldest first, with its folder name as `crawl`."""
    # A damaged stats.json is skipped rather than failing the page.
    return [{"crawl": c.id, **c.stats.to_dict()} for c in list_crawls(ws.crawl_dir) if c.stats is not None]


@dataclass
class RunInfo:
    id: str
    path: Path
    record: RunRecord  # its config.json
    last: dict[str, Any] = field(default_factory=dict)  # the last metrics line that has a step
    running: bool = False

    @property
    def settings(self) -> dict[str, Any]:
        """Every setting of the run, for tables and diffs."""
        return self.record.to_dict()


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """The metrics.jsonl lines of a run that carry a step (events without one are left out)."""
    return [m for m in iter_jsonl(run_dir / "metrics.jsonl") if isinstance(m.get("step"), int)]


def list_runs(ws: Workspace) -> list[RunInfo]:
    """Every run folder with a config, newest first."""
    if not ws.runs_dir.is_dir():
        return []
    runs = []
    for path in sorted(ws.runs_dir.iterdir(), reverse=True):
        record = read_run_record(path) if path.is_dir() else None
        if record is None:
            continue
        metrics = read_metrics(path)
        runs.append(RunInfo(path.name, path, record, metrics[-1] if metrics else {}, is_running(path)))
    return runs


@dataclass(frozen=True)
class Promoted:
    pointer: dict[str, Any]  # models/current.json as read (run, checkpoint, metrics, promoted_at…)
    checkpoint: Path  # the checkpoint folder it names, its weights present


def promoted(ws: Workspace) -> Promoted | None:
    """The promoted model, its pointer read once (so the label and the checkpoint agree even
    while a promotion replaces the file); None when nothing usable is promoted (no pointer, a
    damaged one, or its checkpoint deleted)."""
    pointer = current(ws)
    if pointer is None or not isinstance(pointer["run"], str) or not isinstance(pointer.get("checkpoint", ""), str):
        return None
    path = run_dir(ws, pointer) / pointer.get("checkpoint", "")
    return Promoted(pointer, path) if (path / "weights.safetensors").is_file() else None


def unreadable_runs(ws: Workspace) -> list[Path]:
    """Run folders that started (they have a config.json) but whose config.json cannot be read:
    left out of `list_runs`, newest first, so a page can say so rather than lose them."""
    if not ws.runs_dir.is_dir():
        return []
    return [p for p in sorted(ws.runs_dir.iterdir(), reverse=True)
            if (p / "config.json").is_file() and read_run_record(p) is None]


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def config_diff(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """The settings that differ between two run configs (nested keys joined with dots)."""
    fa, fb = flatten(a), flatten(b)
    return [{"setting": k, "a": fa.get(k), "b": fb.get(k)}
            for k in sorted(fa.keys() | fb.keys()) if fa.get(k) != fb.get(k)]


def export_of(ws: Workspace, record: RunRecord) -> str | None:
    """The export version of this workspace a run trained on (`curation.export.export_of_data`)."""
    export = export_of_data(ws.exports_dir, record.data)
    return export.name if export else None


def gate_eval_set(ws: Workspace, run: str) -> dict[str, Any] | None:
    """The evaluation set the pipeline's gate measured run `run` on (export, images, seed,
    resolution), from the run's pipeline.json; None for a run trained and promoted by hand."""
    state = read_json(ws.root / run / "pipeline.json") if run else None
    if not isinstance(state, dict):
        return None
    result = ((state.get("stages") or {}).get("evaluate") or {}).get("result") or {}
    eval_set = result.get("eval_set") if isinstance(result, dict) else None
    return eval_set if isinstance(eval_set, dict) else None
