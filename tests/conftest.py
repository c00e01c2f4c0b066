"""Fixtures shared by every area of the test suite."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def fiftyone_db():
    """A real FiftyOne database (the bundled mongod) in a temp folder, started once per session.

    FIFTYONE_DATABASE_DIR is put in os.environ before fiftyone is imported, so this process and
    every `studio` subprocess a test starts share the one database (several clients are fine;
    several processes *starting* it at once are not). Each workspace gets its own dataset.
    Yields the imported `fiftyone` module.
    """
    # Outside pytest's basetemp: another pytest session's "keep the last 3 basetemps" clean-up
    # must never delete a live database folder from under this session's mongod.
    db_dir = Path(tempfile.mkdtemp(prefix="studio-test-fiftyone-db-"))
    os.environ["FIFTYONE_DATABASE_DIR"] = str(db_dir)
    os.environ["FIFTYONE_DO_NOT_TRACK"] = "true"
    os.environ["FIFTYONE_DATABASE_VALIDATION"] = "false"
    os.environ["FIFTYONE_SHOW_PROGRESS_BARS"] = "false"
    os.environ.pop("FIFTYONE_DATABASE_URI", None)
    import fiftyone as fo

    if "fiftyone" in sys.modules and str(fo.config.database_dir) != str(db_dir):
        fo.config.database_dir = str(db_dir)  # imported earlier (not connected yet): follow env
    fo.list_datasets()  # starts mongod now, once
    yield fo  # the folder stays: mongod outlives this process by a moment, and must not lose it
