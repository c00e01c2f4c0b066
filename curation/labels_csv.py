"""Bulk labels as CSV: `sha256,label[,reason]`, label ∈ accept, reject (crop sha256).

Import validates every row first (bad rows and unknown hashes are reported, not fatal), then
applies the good rows in bulk writes that wait for MongoDB's journal. MongoDB cannot apply
many documents atomically without a replica set, so an import is resumable instead: the rows
go to a journal (`labels/import-pending.json`) before the first write, and it is removed only
once every row is read back from the catalog. An import that was killed halfway is finished by
the next `studio labels import` (whatever its file), which says so in one line. A field over
the csv module's limit (131,072 characters) is one bad row, not a crash.

Export neutralises reasons a spreadsheet would run as a formula (OWASP "CSV injection": a
leading = + - @ tab or CR gets a leading apostrophe); import takes that apostrophe off again,
so a file written by export imports back to the same labels and reasons.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from curation.catalog import LABELS, human_labels, labels_missing, open_catalog, set_labels
from curation.errors import CurationError
from records import read_json, write_atomic_json

SHA = re.compile(r"^[0-9a-f]{64}$")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SHOWN = 10  # bad rows / unknown hashes listed one by one; the rest are counted
PENDING = Path("labels") / "import-pending.json"  # an import not yet wholly applied


def _formula_like(text: str) -> bool:
    """Whether a spreadsheet would treat `text` as a formula (or it is an escaped one)."""
    return text.startswith(FORMULA_START) or (text.startswith("'") and _formula_like(text[1:]))


def neutralise(text: str) -> str:
    """`text` safe for a spreadsheet cell: a leading apostrophe before a formula."""
    return "'" + text if _formula_like(text) else text


def restore(text: str) -> str:
    """The inverse of `neutralise` (what import applies to a reason)."""
    return text[1:] if text.startswith("'") and _formula_like(text[1:]) else text


@dataclass
class ImportReport:
    applied: int = 0
    unknown: list[str] = field(default_factory=list)  # "line N: sha" not in the catalog
    bad: list[str] = field(default_factory=list)  # "line N: why"
    resumed: str | None = None  # what finishing an interrupted import applied (one line)

    def problem_lines(self, shown: int = SHOWN) -> list[str]:
        """What to tell the user: the first `shown` of each kind, then one line with the count."""
        out = []
        for what, many, items in (("bad row", "bad rows", self.bad),
                                  ("unknown crop hash", "unknown crop hashes", self.unknown)):
            out += [f"{what}, {item}" for item in items[:shown]]
            if len(items) > shown:
                out.append(f"… and {len(items) - shown:,} more {many}")
        return out


def parse_labels(text: str) -> tuple[list[tuple[int, str, str, str]], list[str]]:
    """Rows (line, sha256, label, reason) and the problems of the bad rows."""
    rows, bad = [], []
    reader = csv.reader(io.StringIO(text))
    first = True
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a field over the 131,072-character limit: skip the row
            bad.append(f"line {reader.line_num}: {exc}")
            first = False
            continue
        n = reader.line_num
        if not row or all(not c.strip() for c in row):
            continue
        if first and row[0].strip().lower() == "sha256":
            first = False
            continue  # header
        first = False
        if len(row) < 2 or len(row) > 3:
            bad.append(f"line {n}: expected sha256,label[,reason], got {len(row)} columns")
            continue
        sha, label = row[0].strip().lower(), row[1].strip().lower()
        reason = restore(row[2].strip()) if len(row) == 3 else ""
        if not SHA.match(sha):
            bad.append(f"line {n}: {row[0][:80]!r} is not a sha256")
        elif label not in LABELS:
            bad.append(f"line {n}: label {row[1][:80]!r} is not one of {', '.join(LABELS)}")
        else:
            rows.append((n, sha, label, reason))
    return rows, bad


def import_labels(workspace_root: Path | str, csv_path: Path | str) -> ImportReport:
    path = Path(csv_path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CurationError(f"cannot read {path}: {exc}") from None
    rows, bad = parse_labels(text)
    root = Path(workspace_root).expanduser().resolve()
    ds = open_catalog(root)
    report = ImportReport(bad=bad)
    report.resumed, resumed_any = finish_pending(root, ds)
    known = set(ds.distinct("sha256"))
    good: dict[str, tuple[str, str, str]] = {}
    for n, sha, label, reason in rows:
        if sha not in known:
            report.unknown.append(f"line {n}: {sha}")
        else:
            good[sha] = (sha, label, reason)  # a later row for the same hash wins
    if good:
        _apply_journaled(root, ds, list(good.values()), source=str(path))
    if good or resumed_any:
        from curation.rescoring import rescore_now  # the filter learns from the new labels

        rescore_now(ds)
    report.applied = len(good)
    return report


def _apply_journaled(root: Path, ds, rows: list[tuple[str, str, str]], source: str) -> None:
    """Journal the rows, write them (journaled), read them back, forget the journal."""
    journal = root / PENDING
    try:
        write_atomic_json(journal, {"file": source, "started_at": datetime.now(UTC).isoformat(
            timespec="seconds"), "rows": [list(r) for r in rows]})
    except OSError as exc:
        raise CurationError(f"cannot write {journal}: {exc.strerror or exc}; no label was "
                            "applied") from None
    try:
        set_labels(ds, rows)
    except KeyboardInterrupt:
        raise CurationError(_interrupted(ds, rows)) from None
    left = labels_missing(ds, rows)
    if left:
        raise CurationError(f"{len(left):,} of {len(rows):,} labels did not reach the catalog; "
                            "run `studio labels import` again to apply them")
    journal.unlink(missing_ok=True)


def _interrupted(ds, rows: list[tuple[str, str, str]]) -> str:
    try:
        done = f"{len(rows) - len(labels_missing(ds, rows)):,} of {len(rows):,} labels applied"
    except Exception:  # the database went away too: say what is known
        done = f"some of {len(rows):,} labels applied"
    return (f"interrupted: {done}; `studio labels import` again (any file, even an empty one) "
            "applies the rest")


def finish_pending(root: Path, ds) -> tuple[str | None, bool]:
    """Finish an import that was interrupted (killed, the database lost): apply the rows of
    its journal that are not in the catalog yet. Returns the line saying what it did (None:
    nothing was pending) and whether any label was written."""
    journal = root / PENDING
    if not journal.exists():
        return None, False
    record = read_json(journal) or {}
    rows = [tuple(r) for r in record.get("rows") or []
            if isinstance(r, list) and len(r) == 3 and all(isinstance(x, str) for x in r)
            and r[1] in LABELS]
    left = labels_missing(ds, rows)
    source = record.get("file") or "a file"
    if left:
        _apply_journaled(root, ds, left, source=source)
    journal.unlink(missing_ok=True)
    return (f"finished the interrupted import of {source} (started {record.get('started_at', '?')}): "
            f"applied the remaining {len(left):,} of its {len(rows):,} labels", bool(left))


def export_labels(workspace_root: Path | str, csv_path: Path | str) -> int:
    """Write every human label; returns the number of rows."""
    rows = human_labels(open_catalog(workspace_root))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["sha256", "label", "reason"])
    writer.writerows((sha, label, neutralise(reason or "")) for sha, label, reason in rows)
    from records import write_atomic

    write_atomic(Path(csv_path), buf.getvalue().encode("utf-8"))
    return len(rows)
