"""A catalog curated by an older version (crops without the newer pollution signals) is analysed
again on the next curate: the crops get the signals, keep their labels, and nothing is doubled."""

from __future__ import annotations

import pytest

from curation.catalog import open_catalog, open_sources
from curation.config import CurateConfig
from curation.process import ANALYSIS
from curation.rescoring import set_label
from curation.run import curate
from tests.curation.conftest import make_workspace

NEWER = ("human_face", "photo", "blurred")  # what ANALYSIS 2 added


@pytest.mark.slow
def test_crops_of_an_older_analysis_get_the_new_signals_and_keep_their_labels(fiftyone_db, tmp_path):
    root = tmp_path / "ws"
    make_workspace(root)
    cfg = CurateConfig(detector="human")
    first = curate(root, cfg, progress=False)
    ds, sources = open_catalog(root), open_sources(root)
    keys = sorted(ds.values("key"))
    sha = ds.first().sha256
    set_label(ds, sha, "reject", "mask")
    # As version 1 left it: sources without `analysis`, crops without the newer fields.
    sources.set_field("analysis", None).save()
    for field in NEWER:
        ds.set_field(field, None).save()
    analysed = [s for s, st, n in zip(*sources.values(["sha256", "status", "crops"]), strict=True)
                if st == "ok" and n]
    # Two crops the new analysis will not find again (an older detector saw more faces): the
    # unlabelled one goes, the one a human accepted stays.
    some = ds.first()
    extra = {}
    for k, label in ((8, "accept"), (9, None)):
        extra[k] = some.copy()  # all its fields, under another key and content
        extra[k]["key"], extra[k]["sha256"], extra[k]["human_label"] = f"{some.source_sha256}:{k}", f"{k:064x}", label
    ds.add_samples(list(extra.values()), progress=False)

    again = curate(root, cfg, progress=False)
    assert again.reanalysed == len(analysed) > 0  # not counted as new images or new crops
    assert again.processed == sum(p.startswith("missing") for p in again.problems) and again.crops == 0
    ds.reload()
    assert sorted(ds.values("key")) == sorted([*keys, f"{some.source_sha256}:8"])  # replaced, not doubled
    assert len(ds) == first.crops + 1
    found_again = ds.match({"key": {"$ne": f"{some.source_sha256}:8"}})
    assert all(v is not None for f in NEWER for v in found_again.values(f))
    row = ds.match({"sha256": sha}).first()
    assert ds.match({"key": f"{some.source_sha256}:8"}).first().human_label == "accept"
    assert (row.human_label, row.human_reason, row.decision) == ("reject", "mask", "rejected")
    assert set(open_sources(root).values("analysis")) <= {ANALYSIS, None}  # None: no crops to redo

    third = curate(root, cfg, progress=False)
    # Settled: nothing is analysed twice (only the missing file is tried again, as always).
    assert third.reanalysed == 0 and third.processed == sum(p.startswith("missing") for p in third.problems) == 1
