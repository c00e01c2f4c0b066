"""Which dataset is a workspace's: named by the workspace id in `workspace.json` (written at
`studio init`, or on first use), never by the folder's path; and the paths inside it made to
follow the folder when it is moved, copied or restored.

Catalogs from before the id existed were named after the absolute path; they are found under
that name (or, in the workspace's own database, as its one such dataset) and renamed once.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from curation.catalog.info import CatalogInfo, update_info
from curation.errors import CurationError

ID_FILE = "workspace.json"
MAX_ID = 64  # characters of a workspace id (ours have 16)


def workspace_id(root: Path) -> str:
    """The workspace's id, created (atomically) on first use."""
    path = root / ID_FILE
    try:
        return _read_id(path)
    except FileNotFoundError:
        pass
    return new_workspace_id(root)


def new_workspace_id(root: Path) -> str:
    """Give the workspace a fresh id (written atomically) and return it."""
    from records import write_atomic

    wid = uuid.uuid4().hex[:16]
    record = {"id": wid, "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
    try:
        write_atomic(root / ID_FILE, (json.dumps(record, indent=2) + "\n").encode())
    except OSError as exc:
        raise CurationError(f"cannot write {root / ID_FILE}: {exc.strerror or exc}") from None
    return wid


def _read_id(path: Path) -> str:
    try:
        wid = json.loads(path.read_text(encoding="utf-8"))["id"]
    except FileNotFoundError:
        raise
    except (OSError, ValueError, KeyError, TypeError):
        raise CurationError(f"{path} is damaged (it holds the workspace id that names its "
                            "catalog); restore it from a backup") from None
    # It names the catalog's dataset (and MongoDB collections): ours are 16 hex digits.
    if not isinstance(wid, str) or not MAX_ID >= len(wid) > 0 or not (wid.isascii() and wid.isalnum()):
        shown = repr(wid)[:40] + ("…" if len(repr(wid)) > 40 else "")
        size = f" ({len(wid):,} characters)" if isinstance(wid, str) and len(wid) > MAX_ID else ""
        raise CurationError(f"{path} holds an invalid workspace id {shown}{size}: it must be 1 to "
                            f"{MAX_ID} letters and digits (a-z, A-Z, 0-9); restore the file from "
                            "a backup")
    return wid


def dataset_name(root: Path) -> str:
    return f"studio-{workspace_id(root)}"


def legacy_name(root: Path) -> str:
    """The name catalogs had before workspace ids: from the absolute path."""
    return "studio-" + hashlib.sha256(str(root).encode()).hexdigest()[:12]


def adopt_legacy(fo, root: Path, name: str, own_database: bool) -> bool:
    """Rename a pre-id catalog of this workspace to `name`; True when one was found."""
    old = legacy_name(root)
    if not fo.dataset_exists(old) and own_database:
        # Moved before it was migrated: in its own database, its one path-named dataset is it.
        found = [d for d in fo.list_datasets()
                 if len(d) == 19 and d.startswith("studio-") and not d.endswith("-sources")]
        old = found[0] if len(found) == 1 else old
    if not fo.dataset_exists(old):
        return False
    for suffix in ("", "-sources"):
        if fo.dataset_exists(old + suffix):
            fo.load_dataset(old + suffix).name = name + suffix
    print(f"studio: the catalog of {root} now goes by workspace id "
          f"{name.removeprefix('studio-')} (it moves with its folder)", file=sys.stderr)
    return True


def recorded_root(dataset) -> str | None:
    return CatalogInfo.load(dataset).root


def is_copy_on_shared_database(dataset, root: Path) -> bool:
    """A copy of a workspace that still exists, both using one external database."""
    old = recorded_root(dataset)
    if not old or old == str(root) or not (Path(old) / ID_FILE).is_file():
        return False
    try:
        return _read_id(Path(old) / ID_FILE) == _read_id(root / ID_FILE)
    except CurationError:
        return False


def rebase(dataset, root: Path) -> int:
    """Point `filepath` at this folder after a move or copy (from the relative `path`, or from
    the recorded root for samples older than `path`); returns how many samples moved."""
    old = recorded_root(dataset)
    if old == str(root):
        return 0
    ids, fps, rels = dataset.values(["id", "filepath", "path"])
    new_fp, new_rel = {}, {}
    for i, fp, rel in zip(ids, fps, rels, strict=True):
        if not rel and old and fp and fp.startswith(old.rstrip(os.sep) + os.sep):
            rel = os.path.relpath(fp, old)
            new_rel[i] = rel
        if rel and fp != str(root / rel):
            new_fp[i] = str(root / rel)
    if new_rel:
        dataset.set_values("path", new_rel, key_field="id")
    if new_fp:
        dataset.set_values("filepath", new_fp, key_field="id")
    update_info(dataset, root=str(root))  # drops a legacy "workspace" key
    return len(new_fp)
