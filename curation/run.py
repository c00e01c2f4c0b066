"""`curate`: the incremental run over raw/ — detect and crop unseen images in a process pool,
add them to the catalog in small batches (so a killed run resumes where it stopped), then
regroup duplicates, retrain/score the pollution filter and refresh the decisions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from crawler.manifest import MANIFEST, sources_by_sha
from curation.catalog import (
    domain_of,
    ensure_saved_views,
    open_catalog,
    open_sources,
    sync_app_tags,
    update_info,
)
from curation.catalog.schema import HUMAN_FIELDS
from curation.config import CurateConfig
from curation.confined import confined_path, path_problem
from curation.decide import group_duplicates, refresh_decisions, update_uniqueness
from curation.detectors import get_detector
from curation.errors import CurationError, is_machine_failure_text
from curation.pool import run_pool
from curation.process import ANALYSIS, SourceResult
from curation.rules import rejections, rule_uses
from curation.scoring import update_atypicality, update_pollution

BATCH = 32  # images per catalog write: the most work an interrupted run repeats


@dataclass
class CurateReport:
    seen: int = 0  # images in raw/manifest.jsonl
    processed: int = 0  # processed in this run
    skipped: int = 0  # already in the catalog from earlier runs
    reanalysed: int = 0  # analysed again (an older version had), not counted as processed
    faces: int = 0
    crops: int = 0
    small_faces: int = 0
    problems: list[str] = field(default_factory=list)  # corrupt / missing / failed, one line each
    groups: int = 0
    decisions: dict[str, int] = field(default_factory=dict)
    filter: dict | None = None  # cv accuracy and label counts of the learned filter
    rejected_by: dict[str, int] = field(default_factory=dict)  # reason → rejected crops
    rule_warnings: list[str] = field(default_factory=list)  # rules weighed down or off, per source
    # Images the machine failed on (full or read-only disk, no memory) → how many: not recorded,
    # so the next curate tries them again.
    left_for_retry: dict[str, int] = field(default_factory=dict)

    def retry_line(self) -> str:
        """The end line, e.g. `82 images left for the next run: no space left on /data`; "" if none."""
        if not self.left_for_retry:
            return ""
        n = sum(self.left_for_retry.values())
        why = "; ".join(f"{reason} ({k})" if len(self.left_for_retry) > 1 else reason
                        for reason, k in sorted(self.left_for_retry.items(), key=lambda x: -x[1]))
        return f"{n} image{'s' if n != 1 else ''} left for the next run: {why}"


def catalog_lock(workspace_root: Path, wait: float = 0) -> FileLock:
    """The one-writer lock of the catalog (the same file as studio's workspace lock "catalog")."""
    lock_dir = workspace_root / ".locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(lock_dir / "catalog.lock")
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        raise CurationError(f"another process is writing the catalog of {workspace_root}; "
                            "try again when it ends") from None
    return lock


def curate(workspace_root: Path | str, cfg: CurateConfig, progress: bool = True,
           on_result: Callable[[SourceResult], None] | None = None) -> CurateReport:
    """Run curation on the workspace (the caller holds the "catalog" lock)."""
    root = Path(workspace_root).expanduser().resolve()
    get_detector(cfg.detector, cfg.cascade or None)  # fail now (missing cascade), not in a worker
    _refuse_links(root)
    manifest = sources_by_sha(root / "raw" / MANIFEST)
    ds, sources = open_catalog(root), open_sources(root)
    update_info(ds, pollution_threshold=cfg.pollution_threshold)
    sync_app_tags(ds)
    done, outdated = _settled(sources, manifest, root)
    # Manifest paths, read inside raw/ only and checked against their sha256 (a received
    # workspace's manifest may name ../../secret or /etc/passwd): curation.files.load_source.
    todo = [(sha, m["path"], str(root)) for sha, m in manifest.items() if sha not in done]
    report = CurateReport(seen=len(manifest), skipped=len(manifest) - len(todo))
    existing: dict[str, list[tuple[str, str, str]]] = {}  # source sha256 → its crops' (id, key, sha256)
    for source, *crop in zip(*ds.values(["source_sha256", "id", "key", "sha256"]), strict=True):
        existing.setdefault(source, []).append(tuple(crop))
    pending: list[SourceResult] = []

    def flush() -> None:
        _commit(ds, sources, root, manifest, pending, existing)
        pending.clear()

    if todo:
        try:
            for result in run_pool(todo, cfg, root, progress):
                if result.status == "retry":  # the machine's failure: left for the next run
                    report.left_for_retry[result.error] = report.left_for_retry.get(result.error, 0) + 1
                    if on_result:
                        on_result(result)
                    continue
                if result.sha256 in outdated:
                    report.reanalysed += 1
                else:
                    report.processed += 1
                    report.faces += result.faces
                    report.small_faces += result.small_faces
                    report.crops += len(result.crops)
                if result.status in ("corrupt", "missing", "error", "failed", "refused"):
                    report.problems.append(f"{result.status}: {result.error}")
                pending.append(result)
                if on_result:
                    on_result(result)
                if len(pending) >= BATCH:
                    flush()
        finally:
            flush()  # keep what is finished, also when interrupted: the next run resumes after it
    report.groups = group_duplicates(
        ds, cfg, cfg.workers,
        source_file=lambda sha: confined_path(root, manifest.get(sha, {}).get("path"), "raw"))
    update_uniqueness(ds)
    update_atypicality(ds)
    model = update_pollution(ds, cfg)
    report.filter = _filter_summary(model)
    report.decisions = refresh_decisions(ds, cfg)
    report.rejected_by = dict(rejections(ds).most_common())
    report.rule_warnings = [u.line for u in rule_uses(ds) if u.stat.suspect or u.stat.off]
    ensure_saved_views(ds)
    return report


def _settled(sources, manifest: dict, root: Path) -> tuple[set[str], set[str]]:
    """(sources that need no new attempt, sources with crops analysed by an older version).
    Missing files are retried on the next run (the crawler may not have finished writing them),
    refused ones too (a path out of raw/, a symbolic link: cheap to refuse again, and fixable);
    corrupt and failed ones when their file has changed since they were recorded (repaired,
    re-downloaded); crops of an older ANALYSIS get the fields the filter now reads. An error that
    was the machine's (recorded so before it was left for retry: a full disk) is tried again."""
    done, outdated = set(), set()
    cols = ["sha256", "status", "last_modified_at", "crops", "analysis", "error"]
    for sha, status, recorded, crops, analysis, error in zip(*sources.values(cols), strict=True):
        if status in ("missing", "refused") or (status == "error" and is_machine_failure_text(error)):
            continue
        if status == "ok" and crops and (analysis or 1) < ANALYSIS:
            outdated.add(sha)
            continue
        if status in ("corrupt", "failed") and sha in manifest and recorded is not None:
            path = confined_path(root, manifest[sha]["path"], "raw")
            mtime = path.stat().st_mtime if path is not None else None
            stamp = recorded.replace(tzinfo=UTC) if recorded.tzinfo is None else recorded
            if mtime is not None and mtime > stamp.timestamp():
                continue
        done.add(sha)
    return done, outdated


def _refuse_links(root: Path) -> None:
    """A symbolic link at raw/, its manifest, faces/ or a faces/<aa>/ folder (a workspace from
    someone else) would have curate read or write outside the workspace: one line instead."""
    faces = root / "faces"
    inside = faces.iterdir() if faces.is_dir() and not faces.is_symlink() else []
    linked = [p for p in (root / "raw", root / "raw" / MANIFEST, faces, *inside) if p.is_symlink()]
    if linked:
        raise CurationError(f"{linked[0].relative_to(root)} is a symbolic link; curate reads and "
                            "writes only the workspace's own folders (mount another disk there "
                            "instead of linking it)")


def _filter_summary(model: dict | None) -> dict | None:
    if model is None:
        return None
    return {k: model.get(k) for k in ("kind", "cv_accuracy", "cv_hits", "cv_folds", "labels",
                                      "trained_at")}


def _commit(ds, sources, root: Path, manifest: dict, results: list[SourceResult],
            existing: dict[str, list[tuple[str, str, str]]]) -> None:
    """Crops first, then their source records: a source is only "done" once its crops are in.
    A source already in the catalog (analysed again, or added by a run killed before recording
    it) has its crops replaced: each new crop takes over what humans gave the old crop of the same
    content (else of the same place), and an old crop with nothing new in its place goes, unless
    a human labelled it. New samples are added before old ones go: a kill in between loses nothing."""
    import fiftyone as fo

    now = datetime.now(UTC)
    old = [c for r in results for c in existing.get(r.sha256, [])]
    kept = _human_fields(ds, [c[0] for c in old])
    samples, matched = [], set()
    for r in results:
        m = manifest[r.sha256]
        by_sha = {sha: i for i, _, sha in existing.get(r.sha256, [])}
        by_key = {key: i for i, key, _ in existing.get(r.sha256, [])}
        for crop in r.crops:
            was = by_sha.get(crop["sha256"]) or by_key.get(crop["key"])
            matched.add(was)
            samples.append(fo.Sample(**crop, path=str(Path(crop["filepath"]).relative_to(root)),
                                     source_url=m.get("url"), page_url=m.get("page_url"),
                                     domain=domain_of(m.get("page_url") or m.get("url")),
                                     **{"added_at": now, **kept.get(was, {})}))
    new_ids = ds.add_samples(samples, progress=False) if samples else []
    gone = [i for i, _, _ in old if i in matched or "human_label" not in kept.get(i, {})]
    if gone:
        ds.delete_samples(gone)
    for r in results:
        existing[r.sha256] = [c for c in existing.get(r.sha256, []) if c[0] not in gone]
    for sample, sample_id in zip(samples, new_ids, strict=True):
        existing[sample["source_sha256"]].append((sample_id, sample["key"], sample["sha256"]))
    records = []
    for r in results:
        m = manifest[r.sha256]
        # A path out of raw/ is not recorded: the record names where the crawl would keep it.
        path = m["path"] if path_problem(m["path"], "raw") is None else \
            f"raw/{r.sha256[:2]}/{r.sha256}.jpg"
        records.append(fo.Sample(filepath=str(root / path), path=path,
                                 sha256=r.sha256, url=m.get("url"),
                                 page_url=m.get("page_url"),
                                 domain=domain_of(m.get("page_url") or m.get("url")),
                                 status=r.status, error=r.error or None, faces=r.faces,
                                 small_faces=r.small_faces, crops=len(r.crops), analysis=ANALYSIS))
    if records:
        from fiftyone import ViewField as F

        sources.delete_samples(sources.match(F("sha256").is_in([r.sha256 for r in results])))
        sources.add_samples(records, progress=False)


def _human_fields(ds, ids: list[str]) -> dict[str, dict]:
    """sample id → the HUMAN_FIELDS it has set."""
    if not ids:
        return {}
    rows = zip(*ds.select(ids).values(["id", *HUMAN_FIELDS]), strict=True)
    return {row[0]: {f: v for f, v in zip(HUMAN_FIELDS, row[1:], strict=True) if v not in (None, [])}
            for row in rows}
