"""Merging the raw stores of several workspaces into one (`studio merge`, after a shared crawl).

Workers of a scrapy-redis crawl each store their share in their own workspace. Merging copies
every image file the target lacks and appends the manifest lines of URLs it does not know, plus
their rejections (so the target does not fetch those again). Nothing from a source is trusted:
a line must have every manifest field, a file must hash to its name, and paths are rebuilt by
the target's own store, so a crafted manifest cannot write outside `raw/`. Running it twice adds
nothing the second time.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from crawler.manifest import MANIFEST, MANIFEST_FIELDS
from crawler.store import JsonlLog, RawStore, StorageFailed
from crawler.validate import ALLOWED_FORMATS
from records import iter_jsonl, write_atomic

SHA256 = re.compile(r"^[0-9a-f]{64}$")
EXTS = set(ALLOWED_FORMATS.values())


@dataclass
class MergeResult:
    lines_added: int = 0  # manifest lines appended to the target
    lines_known: int = 0  # URLs the target already had
    files_copied: int = 0
    files_present: int = 0  # identical bytes already in the target
    bad: int = 0  # lines skipped: fields missing, file missing, or bytes not matching the hash
    rejects_added: int = 0


def merge_raw(target_raw: Path, target_rejects: Path, sources: list[tuple[Path, Path]]) -> MergeResult:
    """Merge each (raw dir, rejected.jsonl) of `sources` into the target's; see the module doc."""
    store = RawStore(target_raw)
    known = store.known_urls()
    result = MergeResult()
    for raw_dir, _ in sources:
        for line in iter_jsonl(raw_dir / MANIFEST):  # every line: a bad one is counted, not skipped
            _merge_line(store, raw_dir, line, known, result)
    rejects = JsonlLog(target_rejects)
    rejected = {r.get("url") for r in iter_jsonl(target_rejects)}
    for _, rejects_path in sources:
        for line in iter_jsonl(rejects_path):
            url = line.get("url")
            if isinstance(url, str) and url not in rejected and url not in known:
                rejects.append(line)
                rejected.add(url)
                result.rejects_added += 1
    return result


def _merge_line(store: RawStore, raw_dir: Path, line: dict, known: set[str], result: MergeResult) -> None:
    sha, ext = str(line.get("sha256", "")), Path(str(line.get("path", ""))).suffix.lstrip(".")
    if not set(MANIFEST_FIELDS) <= set(line) or not SHA256.match(sha) or ext not in EXTS:
        result.bad += 1
        return
    if line["url"] in known:
        result.lines_known += 1
        return
    dest = store.raw_dir / sha[:2] / f"{sha}.{ext}"
    if dest.exists():
        result.files_present += 1
    else:
        try:
            data = (raw_dir / sha[:2] / f"{sha}.{ext}").read_bytes()
        except OSError:
            result.bad += 1
            return
        if hashlib.sha256(data).hexdigest() != sha:
            result.bad += 1
            return
        try:
            write_atomic(dest, data)
        except OSError as exc:
            raise StorageFailed(dest, exc) from exc
        result.files_copied += 1
    store.manifest.append({**{k: line[k] for k in MANIFEST_FIELDS}, "path": store.relpath(sha, ext)})
    known.add(line["url"])
    result.lines_added += 1
