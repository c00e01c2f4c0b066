"""`export`: write a versioned training set — exports/<version>/images/, manifest.jsonl, stats.json.

Exported = decision "accepted": not rejected (by a human, quality or the pollution filter) and the
kept member of its duplicate group. A version folder is never overwritten: it is built under a
temporary name and renamed into place.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from curation.catalog import CatalogInfo, funnel, open_catalog
from curation.confined import Refused, open_confined
from curation.errors import CurationError
from records import iter_jsonl, read_json

VERSION = re.compile(r"^v(\d{4,})$")


def next_version(exports_dir: Path) -> str:
    taken = [int(m.group(1)) for p in exports_dir.glob("v*") if (m := VERSION.match(p.name))]
    return f"v{max(taken, default=0) + 1:04d}"


# ---- readers: everyone else reads exports through these ------------------------------------

def list_exports(exports_dir: Path) -> list[Path]:
    """The finished exports (`vNNNN`; a `.partial` one being built is not), oldest first."""
    if not exports_dir.is_dir():
        return []
    found = [p for p in exports_dir.iterdir() if VERSION.match(p.name) and p.is_dir()]
    return sorted(found, key=lambda p: int(VERSION.match(p.name).group(1)))


def export_shas(export_dir: Path) -> set[str]:
    """sha256 of every crop in an export (its manifest.jsonl)."""
    return {m["sha256"] for m in iter_jsonl(export_dir / "manifest.jsonl") if "sha256" in m}


def read_export_stats(export_dir: Path) -> dict | None:
    """An export's stats.json (the funnel, rejection reasons, filter accuracy); None if unreadable."""
    return read_json(export_dir / "stats.json")


def export_of_data(exports_dir: Path, data: Path | None) -> Path | None:
    """The export a run trained on, from its data folder (`…/exports/<version>` as the pipeline
    trains, or its `images/` as `studio train --data` is told): the same version under
    `exports_dir`, by shape rather than by absolute path (the workspace may have moved since the
    run), when it is a finished export."""
    if data is not None and data.name == "images":
        data = data.parent
    if data is None or not VERSION.match(data.name) or data.parent.name != exports_dir.name:
        return None
    export = exports_dir / data.name
    return export if (export / "manifest.jsonl").is_file() else None


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def export(workspace_root: Path | str, out: Path | str | None = None,
           log: Callable[[str], None] = _stderr) -> Path:
    """Export the accepted crops; returns the new folder. An accepted crop whose file is gone
    (deleted by hand) is left out and said so through `log`, and counted in stats.json."""
    root = Path(workspace_root).expanduser().resolve()
    ds = open_catalog(root)
    exports_dir = root / "exports"
    if out is None:
        exports_dir.mkdir(parents=True, exist_ok=True)
        target = exports_dir / next_version(exports_dir)
    else:
        target = Path(out).expanduser().resolve()
    if target.exists():
        raise CurationError(f"{target} already exists; exports are never overwritten")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "images").mkdir(parents=True)

    from fiftyone import ViewField as F

    accepted = ds.match(F("decision") == "accepted").sort_by("sha256")
    cols = ["sha256", "filepath", "source_url", "page_url", "source_sha256", "bbox", "crop_box",
            "detector", "detector_score", "quality", "pollution", "pollution_source",
            "uniqueness", "blur", "contrast", "brightness", "tags", "human_label"]
    lines, written, gone, refused = [], set(), [], []
    for row in zip(*accepted.values(cols), strict=True):
        r = dict(zip(cols, row, strict=True))
        if r["sha256"] in written:
            continue  # identical crop bytes twice can only be one training image
        src = Path(r["filepath"])
        rel = f"images/{r['sha256']}.png"
        try:  # only a regular file inside faces/, reached through no symbolic link
            _link_or_copy(root, os.path.relpath(src, root), tmp / rel)
        except FileNotFoundError:
            gone.append(src)  # a crop deleted by hand: skip rather than export a dangling line
            continue
        except Refused as exc:  # a received workspace's faces/x.png -> /etc/passwd: never copied
            refused.append(str(exc))
            continue
        written.add(r["sha256"])
        lines.append({
            "path": rel, "sha256": r["sha256"], "source_url": r["source_url"],
            "page_url": r["page_url"], "source_sha256": r["source_sha256"], "bbox": r["bbox"],
            "crop_box": r["crop_box"], "detector": r["detector"],
            "scores": {"detector": r["detector_score"], "quality": r["quality"],
                       "pollution": r["pollution"], "pollution_source": r["pollution_source"],
                       "uniqueness": r["uniqueness"], "blur": r["blur"],
                       "contrast": r["contrast"], "brightness": r["brightness"],
                       "human_label": r["human_label"]},
            "tags": sorted(r["tags"] or []),
        })
    if not lines:  # an empty training set is a mistake to say, not a version to keep
        shutil.rmtree(tmp, ignore_errors=True)
        why = (f"the {len(gone)} accepted crops' files are gone" if gone else
               f"the {len(refused)} accepted crops are not files of the workspace ({refused[0]})"
               if refused else "the catalog has no accepted crops")
        raise CurationError(f"nothing to export: {why}; run `studio curate` first, or accept crops "
                            "with `studio label` / `studio labels import`")
    with open(tmp / "manifest.jsonl", "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, sort_keys=True) + "\n")
    stats = export_stats(root, ds)
    stats.update(version=target.name, images=len(lines), missing_crops=len(gone), refused_crops=len(refused),
                 created_at=datetime.now(UTC).isoformat(timespec="seconds"))
    (tmp / "stats.json").write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n")
    _fsync_tree(tmp)
    try:
        os.rename(tmp, target)  # fails if another export took the name meanwhile: no overwrite
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise CurationError(f"{target} already exists; exports are never overwritten") from None
    if gone:
        shown = ", ".join(_shown(root, p) for p in gone[:3]) + (f" and {len(gone) - 3} more" if len(gone) > 3 else "")
        log(f"export left out {len(gone)} accepted crop(s) whose file is gone (deleted by hand?): "
            f"{shown}; restore the file(s) or reject the crop(s) to stop this message")
    if refused:
        more = f" and {len(refused) - 1} more" if len(refused) > 1 else ""
        log(f"export left out {len(refused)} accepted crop(s) that are not files of the workspace's "
            f"faces/: {refused[0]}{more}")
    return target


def _shown(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def export_stats(root: Path, ds) -> dict:
    """Counts per stage and per rejection reason, in total and per source domain."""
    domains, reasons = ds.values(["domain", "reasons"])
    by_reason: Counter = Counter()
    per_domain: dict[str, Counter] = {}
    for d, rs in zip(domains, reasons, strict=True):
        for r in rs or []:
            key = "human" if r.startswith("human:") else r
            by_reason[key] += 1
            per_domain.setdefault(d, Counter())[key] += 1
    f = funnel(root)
    for d, counts in f["per_domain"].items():
        counts["rejection_reasons"] = dict(per_domain.get(d, {}))
    filt = CatalogInfo.load(ds).pollution_filter
    return {"funnel": f, "rejection_reasons": dict(by_reason),
            "pollution_filter": None if filt is None else
            {k: filt[k] for k in ("cv_accuracy", "cv_folds", "labels", "trained_at")}}


def _link_or_copy(root: Path, rel: str, dst: Path) -> None:
    """Hard-link (else copy) the crop `rel` of the workspace `root` to `dst`: only a regular file
    inside faces/ reached through no symbolic link (curation.confined: Refused, FileNotFoundError);
    the link is made to the file that was checked, never through a link."""
    fd = open_confined(root, rel, "faces")
    with os.fdopen(fd, "rb") as src:
        try:  # crops are immutable (content-addressed): a hard link is a safe copy
            os.link(root / rel, dst, follow_symlinks=False)
            if os.path.samestat(os.lstat(dst), os.fstat(src.fileno())):
                return
        except OSError:
            pass
        dst.unlink(missing_ok=True)  # no link, or one to a file swapped in after the check
        with open(dst, "xb") as out:  # copy what was checked (x: never through a link at dst)
            shutil.copyfileobj(src, out)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
