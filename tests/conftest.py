"""Fixtures shared by every area of the test suite."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Whatever the developer's shell points at (a demo's database, an external MongoDB), the suite
# connects only to databases it starts itself.
for _key in ("FIFTYONE_DATABASE_URI", "FIFTYONE_DATABASE_DIR", "FIFTYONE_PRIVATE_DATABASE_PORT",
             "STUDIO_DATABASE_FOR"):
    os.environ.pop(_key, None)


@pytest.fixture(scope="session", autouse=True)
def _private_user_cache(tmp_path_factory):
    """GAN Studio's user cache dir (training image caches, detector files) is a temp folder for
    the whole session, subprocesses included: tests never read or fill the real one."""
    old = os.environ.get("GAN_STUDIO_CACHE_DIR")
    os.environ["GAN_STUDIO_CACHE_DIR"] = str(tmp_path_factory.mktemp("user-cache"))
    yield
    if old is None:
        os.environ.pop("GAN_STUDIO_CACHE_DIR", None)
    else:
        os.environ["GAN_STUDIO_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def fiftyone_db():
    """A real FiftyOne database for the session: the studio's own supervised mongod on a temp
    folder, handed to this process and every `studio` subprocess as FIFTYONE_DATABASE_URI —
    the "external MongoDB" setup, where each workspace's dataset is named by its id.

    Tests of the per-workspace database (tests/curation/test_database.py) drop the URI from
    their subprocesses' environment. Yields the imported `fiftyone` module.
    """
    from curation.catalog.server import ensure_server

    # Outside pytest's basetemp: another pytest session's "keep the last 3 basetemps" clean-up
    # must never delete a live database folder from under this session's mongod.
    db_dir = Path(tempfile.mkdtemp(prefix="studio-test-fiftyone-db-"))
    uri = ensure_server(db_dir)  # this process's lease keeps it up until the session ends
    os.environ["FIFTYONE_DATABASE_URI"] = uri
    os.environ["FIFTYONE_DO_NOT_TRACK"] = "true"
    os.environ["FIFTYONE_DATABASE_VALIDATION"] = "false"
    os.environ["FIFTYONE_SHOW_PROGRESS_BARS"] = "false"
    import fiftyone as fo

    fo.config.database_uri = uri  # in case fiftyone was imported before this fixture ran
    fo.list_datasets()
    yield fo
