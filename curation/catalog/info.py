"""The catalog's own record: what `dataset.info` holds, as one dataclass with load and save.

    {"root": "/home/me/faces",           the workspace folder when the catalog was last opened
     "pollution_threshold": 0.5,         the threshold of the last curate (decisions use it)
     "pollution_filter": {...} | null,   the trained pollution filter, JSON (curation.filter_model)
     "scored_at": "2026-12-01T12:00:00+00:00",   when the scores were last computed
     "rules_off": {"example.org": ["photo"]}}     rules the user switched off, per source domain

Nothing else reads or writes those keys. Catalogs from before workspace ids recorded their
folder as "workspace"; it is read as `root` and dropped on the next save.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from curation.config import CurateConfig

LEGACY_ROOT = "workspace"


@dataclass(frozen=True)
class CatalogInfo:
    root: str | None = None
    pollution_threshold: float = CurateConfig.pollution_threshold
    pollution_filter: dict[str, Any] | None = None
    scored_at: datetime | None = None
    rules_off: dict[str, list[str]] | None = None  # domain ("*": every domain) → rule names

    @classmethod
    def load(cls, dataset) -> CatalogInfo:
        raw = dataset.info
        scored = raw.get("scored_at")
        threshold = raw.get("pollution_threshold")
        return cls(root=raw.get("root") or raw.get(LEGACY_ROOT),
                   pollution_threshold=cls.pollution_threshold if threshold is None else float(threshold),
                   pollution_filter=raw.get("pollution_filter"),
                   scored_at=datetime.fromisoformat(scored) if scored else None,
                   rules_off=raw.get("rules_off") or None)

    def to_info(self) -> dict[str, Any]:
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["scored_at"] = self.scored_at.isoformat() if self.scored_at else None
        return {k: v for k, v in out.items() if v is not None}

    def save(self, dataset) -> bool:
        """Write the fields that changed (one dataset.save; a field set to None is removed);
        whether anything was written."""
        new = self.to_info()
        keys = [f.name for f in fields(self)] + [LEGACY_ROOT]
        if {k: dataset.info[k] for k in keys if k in dataset.info} == new:
            return False
        for key in keys:
            dataset.info.pop(key, None)
        dataset.info.update(new)
        dataset.save()
        return True


def update_info(dataset, **changes: Any) -> CatalogInfo:
    """Load, change the given fields, save; the new record."""
    info = replace(CatalogInfo.load(dataset), **changes)
    info.save(dataset)
    return info
