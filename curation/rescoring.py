"""Rescoring: what follows a human's word (a label, a kept duplicate, a rule switched off) —
the filter retrained when the labels changed, every crop rescored, the decisions refreshed.

It sits above both `curation.decide` and `curation.scoring`, and the catalog sits below all of
them: `curation.catalog` writes a label or a choice and answers queries, and never calls up
(`tests/test_import_cycles.py` checks that). Callers that want the consequences at once use
`set_label` / `set_labels` / `set_kept` here; the Label page writes through the catalog and
leaves the rescoring to a `Rescorer`, off the click path: the filter's retraining and the
rescoring of every crop (seconds on a large catalog) happen in a background thread once
labelling pauses — a burst of twenty clicks costs one rescore.

`scoring_state` says whether the scores a page shows are from before the latest labels.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from curation import catalog
from curation.catalog.info import CatalogInfo, update_info
from curation.config import CurateConfig
from curation.decide import refresh_decisions
from curation.scoring import update_pollution

log = logging.getLogger(__name__)
DEBOUNCE_SECONDS = 1.5  # quiet time after the last label before the rescore starts
BUSY_RETRY_SECONDS = 5.0  # while `studio curate` holds the catalog (it rescores at its end)


def rescore(dataset, info: CatalogInfo | None = None) -> dict[str, int]:
    """After a label changed: rescore with the filter (the review queue reorders itself, so
    labelling one crop at a time is active learning) and refresh the decisions. The catalog's
    record is read once (`info`, or loaded here) and passed down."""
    info = info or CatalogInfo.load(dataset)
    cfg = CurateConfig(pollution_threshold=info.pollution_threshold)
    update_pollution(dataset, cfg, info=info)
    return refresh_decisions(dataset, cfg)


def rescore_now(dataset) -> dict[str, int]:
    """Retrain the filter (when the labels changed), rescore every crop, refresh the decisions,
    and record when; returns the decision counts."""
    started = datetime.now(UTC)
    counts = rescore(dataset)
    update_info(dataset, scored_at=started)
    return counts


def set_label(dataset, sha256: str, label: str | None, reason: str = "") -> int:
    """`curation.catalog.set_label`, then a rescore before this returns; the count labelled."""
    n = catalog.set_label(dataset, sha256, label, reason)
    if n:
        rescore_now(dataset)
    return n


def set_labels(dataset, rows: list[tuple[str, str, str]]) -> None:
    """`curation.catalog.set_labels`, then a rescore before this returns."""
    catalog.set_labels(dataset, rows)
    rescore_now(dataset)


def set_kept(dataset, group: str, sha256: str) -> None:
    """Keep this member of a duplicate group instead of the automatic choice (a human choice),
    and refresh every decision."""
    catalog.set_kept(dataset, group, sha256)
    refresh_decisions(dataset)


@dataclass(frozen=True)
class ScoringState:
    scored_at: datetime | None  # when the shown scores were computed (None: never)
    labels_since: int  # labels given or changed since then
    running: bool  # a background rescore is pending or running in this process
    error: str | None  # the last background rescore's failure, if any

    @property
    def stale(self) -> bool:
        return self.labels_since > 0


def scoring_state(dataset, rescorer: Rescorer | None = None) -> ScoringState:
    """How fresh the scores are: one indexed count of labels newer than the last rescore."""
    dataset.reload()
    at = CatalogInfo.load(dataset).scored_at
    return ScoringState(at, catalog.labels_since(dataset, at), bool(rescorer and rescorer.busy),
                        rescorer.error if rescorer else None)


class Rescorer:
    """One background thread per catalog and process (the app keeps one in st.cache_resource)."""

    def __init__(self, dataset, workspace_root: Path | str, debounce: float = DEBOUNCE_SECONDS):
        self.dataset = dataset
        self.lock_path = Path(workspace_root) / ".locks" / "catalog.lock"
        self.debounce = debounce
        self.error: str | None = None
        self.last_seconds: float | None = None
        self._due: float | None = None
        self._running = False
        self._wake = threading.Condition()
        threading.Thread(target=self._loop, name="studio-rescore", daemon=True).start()

    @property
    def busy(self) -> bool:
        return self._due is not None or self._running

    def request(self) -> None:
        """Rescore once labelling has paused for `debounce` seconds."""
        with self._wake:
            self._due = time.monotonic() + self.debounce
            self._wake.notify()

    def wait_idle(self, timeout: float = 120) -> bool:
        """Block until no rescore is pending or running (tests, benchmarks, shutdown)."""
        deadline = time.monotonic() + timeout
        while self.busy and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self.busy

    def _loop(self) -> None:
        while True:
            with self._wake:
                while self._due is None or time.monotonic() < self._due:
                    self._wake.wait(None if self._due is None else self._due - time.monotonic())
                self._due, self._running = None, True
            try:
                self._rescore_once()
            finally:
                self._running = False

    def _rescore_once(self) -> None:
        lock = FileLock(self.lock_path)
        try:
            lock.acquire(timeout=0)
        except Timeout:  # curate is writing the catalog: try again later
            with self._wake:
                self._due = self._due or time.monotonic() + BUSY_RETRY_SECONDS
            return
        t0 = time.monotonic()
        try:
            rescore_now(self.dataset)
            self.error = None
        except Exception as exc:  # shown on the Label page; the labels themselves are safe
            log.exception("background rescore failed")
            self.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        finally:
            lock.release()
            self.last_seconds = time.monotonic() - t0
