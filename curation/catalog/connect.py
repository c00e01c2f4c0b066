"""Opening a workspace's catalog: which database (the workspace's own mongod, or an external
MongoDB named by the user's FIFTYONE_DATABASE_URI), which dataset (by workspace id), and the
paths rebased when the folder moved.

FiftyOne is always handed an explicit URI: its own service discovery (which was seen to pick
another workspace's running database) is never used. A URI this module set for its own
workspace is marked with STUDIO_DATABASE_FOR, so a child process of another workspace that
inherits the environment starts its own database instead of writing into this one.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from curation.catalog import identity
from curation.catalog.info import CatalogInfo, update_info
from curation.catalog.schema import CROP_FIELDS, SOURCE_FIELDS, declare
from curation.catalog.server import ensure_server
from curation.errors import CurationError

# What clicks and pages look crops up by: each lookup stays O(log n) at 100k crops.
INDEXES = ("sha256", "human_label", "certainty", "labeled_at", "decision", "domain", "dup_group")
OWNER_ENV = "STUDIO_DATABASE_FOR"  # the workspace whose own database FIFTYONE_DATABASE_URI is
_cache: dict[str, Any] = {}
_using: dict[str, str] = {}  # {"uri": …, "root": … (own database only)}


def external_uri() -> str | None:
    """The user's external MongoDB, if one is configured (not one of our own servers)."""
    if os.environ.get(OWNER_ENV):
        return None
    return os.environ.get("FIFTYONE_DATABASE_URI") or None


def journaled_uri(uri: str) -> str:
    """`uri` with `journal=true` (write concern j): a write is acknowledged only once it is in
    MongoDB's journal, so human labels reported saved survive a crash of the database. A URI
    that already says `journal=`, or asks for unacknowledged writes (`w=0`), is left as it is."""
    base, _, query = uri.partition("?")
    options = [o for o in query.split("&") if o]
    if any(o.lower().startswith("journal=") or o.lower() == "w=0" for o in options):
        return uri
    if base.count("/") < 3:  # mongodb://host[:port] has no path yet: options need "/?"
        base += "/"
    return f"{base}?{'&'.join([*options, 'journal=true'])}"


def database_configured(root: Path | str) -> bool:
    """Whether a catalog may exist, decided without starting (or creating) a database."""
    return bool(external_uri()) or (Path(root).expanduser().resolve() / "db").is_dir()


def _configure(root: Path):
    """Import fiftyone connected to this workspace's database (one own database a process)."""
    for key, value in (("FIFTYONE_DO_NOT_TRACK", "true"),  # no usage tracking calls
                       ("FIFTYONE_DATABASE_VALIDATION", "false"),  # bundled mongod is "old"
                       ("FIFTYONE_SHOW_PROGRESS_BARS", "false"),
                       ("FIFTYONE_LOGGING_LEVEL", "WARNING")):  # no "Computing uniqueness…"
        os.environ.setdefault(key, value)
    # Set by FiftyOne's own service for its children; it would override any URI we give.
    os.environ.pop("FIFTYONE_PRIVATE_DATABASE_PORT", None)
    uri = external_uri()
    if uri is not None:
        uri = journaled_uri(uri)
        os.environ["FIFTYONE_DATABASE_URI"] = uri  # the App server (a child) writes journaled too
    else:
        if _using and _using.get("root") != str(root):
            raise CurationError(f"this process already uses the catalog of {_using['root']}; "
                                f"open {root} in a new process")
        uri = _using.get("uri") or ensure_server(root / "db")
        os.environ["FIFTYONE_DATABASE_URI"] = uri  # for FiftyOne's App server, a child process
        os.environ[OWNER_ENV] = str(root)
        _using.update(uri=uri, root=str(root))
    import fiftyone as fo
    import fiftyone.core.odm.database as fodb

    if fo.config.database_uri != uri:
        if not fodb._is_client_closed(fodb._client):
            raise CurationError(f"this process is connected to another database; open {root} "
                                "in a new process")
        fo.config.database_uri = uri
    return fo


def open_catalog(workspace_root: Path | str):
    """The workspace's persistent crop dataset (created with its schema on first use; cached)."""
    root = Path(workspace_root).expanduser().resolve()
    ds = _cache.get(str(root))
    if ds is not None and not ds.deleted:
        return ds
    try:
        root.joinpath(".locks").mkdir(parents=True, exist_ok=True)
        # Serialises dataset creation and migration between processes of this workspace.
        with FileLock(root / ".locks" / "catalog-open.lock", timeout=120):
            ds, sources = _open(root)
    except Timeout:
        raise CurationError(f"timed out waiting for the catalog of {root}") from None
    except OSError as exc:
        raise CurationError(f"cannot open the catalog of {root}: {exc.strerror or exc}") from None
    _cache[str(root)] = ds
    _cache[str(root) + ":sources"] = sources
    return ds


def _open(root: Path):
    fo = _configure(root)
    name = identity.dataset_name(root)
    if not fo.dataset_exists(name):
        identity.adopt_legacy(fo, root, name, own_database=external_uri() is None)
    if fo.dataset_exists(name):
        ds = fo.load_dataset(name)
        if external_uri() and identity.is_copy_on_shared_database(ds, root):
            ds = _give_copy_its_own_catalog(fo, root, ds)
    else:
        ds = fo.Dataset(name, persistent=True)
        CatalogInfo(root=str(root)).save(ds)
    declare(ds, CROP_FIELDS)
    for field in INDEXES:
        ds.create_index(field)
    sources_name = ds.name + "-sources"
    sources = (fo.load_dataset(sources_name) if fo.dataset_exists(sources_name)
               else fo.Dataset(sources_name, persistent=True))
    declare(sources, SOURCE_FIELDS)
    if identity.recorded_root(ds) != str(root):
        moved_from = identity.recorded_root(ds)
        update_info(sources, root=CatalogInfo.load(sources).root or moved_from)
        identity.rebase(sources, root)
        n = identity.rebase(ds, root)
        if n:
            print(f"studio: catalog paths follow the workspace from {moved_from} to {root} "
                  f"({n} crops)", file=sys.stderr)
    return ds, sources


def _give_copy_its_own_catalog(fo, root: Path, original):
    """A copied workspace on a shared external database gets a new id and a clone of the
    catalog, so labels given in one no longer land in the other."""
    wid = identity.new_workspace_id(root)
    clone = original.clone(f"studio-{wid}", persistent=True)
    sources = fo.load_dataset(original.name + "-sources")
    sources.clone(clone.name + "-sources", persistent=True)
    print(f"studio: {root} is a copy of {identity.recorded_root(original)}; it has its own "
          f"catalog now (workspace id {wid})", file=sys.stderr)
    return clone


def catalog_exists(workspace_root: Path | str) -> bool:
    """Whether this workspace was ever curated (starts no database where none can exist;
    a catalog from before workspace ids is migrated here, as on any first open)."""
    root = Path(workspace_root).expanduser().resolve()
    if str(root) in _cache:
        return True
    if not database_configured(root):
        return False
    fo = _configure(root)
    name = identity.dataset_name(root)
    own = external_uri() is None
    return fo.dataset_exists(name) or identity.adopt_legacy(fo, root, name, own_database=own)


def open_sources(workspace_root: Path | str):
    """The companion dataset with one sample per processed raw image (status, face counts)."""
    root = Path(workspace_root).expanduser().resolve()
    open_catalog(root)
    return _cache[str(root) + ":sources"]
