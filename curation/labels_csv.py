"""Bulk labels as CSV: `sha256,label[,reason]`, label ∈ accept, reject (crop sha256).

Import validates every row first (bad rows and unknown hashes are reported, not fatal), then
applies the good rows in one bulk write, so an error never leaves a file half-applied. A field
over the csv module's limit (131,072 characters) is one bad row, not a crash.

Export neutralises reasons a spreadsheet would run as a formula (OWASP "CSV injection": a
leading = + - @ tab or CR gets a leading apostrophe); import takes that apostrophe off again,
so a file written by export imports back to the same labels and reasons.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from curation.catalog import LABELS, human_labels, open_catalog
from curation.errors import CurationError

SHA = re.compile(r"^[0-9a-f]{64}$")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SHOWN = 10  # bad rows / unknown hashes listed one by one; the rest are counted


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
    ds = open_catalog(workspace_root)
    known = set(ds.distinct("sha256"))
    report = ImportReport(bad=bad)
    good: dict[str, tuple[str, str, str]] = {}
    for n, sha, label, reason in rows:
        if sha not in known:
            report.unknown.append(f"line {n}: {sha}")
        else:
            good[sha] = (sha, label, reason)  # a later row for the same hash wins
    if good:
        from curation.rescoring import set_labels  # labels, then a rescore

        set_labels(ds, list(good.values()))
    report.applied = len(good)
    return report


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
