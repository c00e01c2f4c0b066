"""What each pipeline stage did: one frozen dataclass per stage (two where a stage can pass), with a
one-line `summary` and the JSON form recorded in pipeline.json and report.json.

The JSON form keeps the shape the runs on disk already have: a field marked `OPTIONAL` is left out
when None (it belongs to another variant of that stage's result). `read_outcome` turns a recorded
result back into its dataclass, so a renamed field fails here, not in a report at 3 a.m.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

OPTIONAL = {"optional": True}


@dataclass(frozen=True, kw_only=True)
class Outcome:
    summary: str  # one line, for the log and the report

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if not (f.metadata.get("optional") and getattr(self, f.name) is None)}

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> Outcome:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in record.items() if k in names})


@dataclass(frozen=True, kw_only=True)
class CrawlOutcome(Outcome):
    crawl: str  # the crawl's id (crawl/<id>/stats.json)
    start_urls: list[str]
    pages: int
    new_images: int
    already_known: int  # known images, not downloaded again
    downloaded: int
    duplicates: int
    rejected: dict[str, int]  # by reason
    failed_images: dict[str, int]
    failed_pages: dict[str, int]


@dataclass(frozen=True, kw_only=True)
class CurateOutcome(Outcome):
    new_images: int
    already_curated: int
    faces: int
    small_faces: int
    new_crops: int
    problems: list[str]  # the first 20
    decisions: dict[str, int]  # the whole catalog: accepted, rejected, duplicate
    rejection_reasons: dict[str, int]
    pollution_filter_retrained: bool
    pollution_filter: dict[str, Any] | None
    label_state: dict[str, Any]  # studio.lineage.label_state
    reanalysed: int = 0  # images analysed again for signals an older version lacked (not new)


@dataclass(frozen=True, kw_only=True)
class ExportOutcome(Outcome):
    version: str | None  # None: no accepted crops, nothing exported
    images: int
    new_version: bool | None = field(default=None, metadata=OPTIONAL)  # False: the latest export was reused
    crawls: list[str] | None = field(default=None, metadata=OPTIONAL)  # a new version's lineage
    label_state: dict[str, Any] | None = field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True, kw_only=True)
class TrainSkipped(Outcome):
    trained: bool = False
    reason: str
    new_accepted: int | None = field(default=None, metadata=OPTIONAL)
    export: str | None = field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True, kw_only=True)
class TrainOutcome(Outcome):
    trained: bool = True
    reason: str  # the policy's
    export: str
    new_accepted: int
    steps: int
    warm_start_from: str | None  # the checkpoint whose weights started this run (None: scratch)
    resumed: bool  # continued after an interruption
    checkpoint: str  # relative to the run folder
    final_metrics: dict[str, float]
    resolution: int
    device: str | None
    sanity: str | None  # the first training's overfitting check verdict


@dataclass(frozen=True, kw_only=True)
class EvaluateSkipped(Outcome):
    evaluated: bool = False


@dataclass(frozen=True, kw_only=True)
class EvaluateOutcome(Outcome):
    evaluated: bool = True
    eval_set: dict[str, Any]  # export, images, seed, resolution
    new: dict[str, Any]  # the new model's metrics
    promoted_before: dict[str, Any] | None  # the promoted model's on the same set
    promoted_run: str | None


@dataclass(frozen=True, kw_only=True)
class PromoteSkipped(Outcome):
    promoted: bool = False


@dataclass(frozen=True, kw_only=True)
class PromoteOutcome(Outcome):
    promoted: bool
    metric: str
    new: float | None
    old: float | None
    limit: float | None
    tolerance: float
    reason: str


def _by_flag(flag: str, done: type[Outcome], skipped: type[Outcome]):
    return lambda record: (done if record.get(flag) else skipped).from_json(record)


READERS = {
    "crawl": CrawlOutcome.from_json,
    "curate": CurateOutcome.from_json,
    "export": ExportOutcome.from_json,
    "train": _by_flag("trained", TrainOutcome, TrainSkipped),
    "evaluate": _by_flag("evaluated", EvaluateOutcome, EvaluateSkipped),
    "promote": lambda record: (PromoteOutcome if "metric" in record else PromoteSkipped).from_json(record),
}


# The fields a recorded result of each stage may carry (besides `summary`).
FIELDS = {stage: {f.name for c in classes for f in fields(c)} - {"summary"} for stage, classes in {
    "crawl": (CrawlOutcome,), "curate": (CurateOutcome,), "export": (ExportOutcome,),
    "train": (TrainOutcome, TrainSkipped), "evaluate": (EvaluateOutcome, EvaluateSkipped),
    "promote": (PromoteOutcome, PromoteSkipped)}.items()}


def read_outcome(stage: str, record: dict[str, Any] | None, strict: bool = False,
                 ) -> Outcome | dict[str, Any] | None:
    """A recorded stage result as its dataclass; None when the stage has no result; the dict itself
    for a stage of another shape (a test's or a plugin's stage under its own name, sharing none of
    our fields). One of ours that does not fit (a field missing or renamed) is a ValueError when
    `strict` (the pipeline, which acts on it), and its dict for a report of an old run."""
    if not record:
        return None
    reader = READERS.get(stage)
    if reader is None:
        return record
    try:
        return reader(record)
    except TypeError as exc:  # required fields missing
        if not strict or not set(record) & FIELDS[stage]:
            return record
        raise ValueError(f"the recorded {stage} result does not fit this version of the studio "
                         f"({exc}); run the pipeline again") from None


def as_json(result: Outcome | dict[str, Any] | None) -> dict[str, Any]:
    """The JSON form of a stage's result (a dict from a stage of another kind is kept as it is)."""
    if isinstance(result, Outcome):
        return result.to_json()
    return dict(result or {})
