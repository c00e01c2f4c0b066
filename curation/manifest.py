"""The crawl's raw/manifest.jsonl as curation reads it: through its owner, `crawler.manifest`
(the one module of the crawler curation may import; see docs/architecture.md)."""

from __future__ import annotations

from crawler.manifest import read_manifest, sources_by_sha

__all__ = ["read_manifest", "sources_by_sha"]  # for curation.catalog.queries, which imports them here
