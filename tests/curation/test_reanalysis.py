"""A catalog curated by an older version (crops without the newer pollution signals) is analysed
again on the next curate: the crops get the signals, keep their labels, and nothing is doubled."""

from __future__ import annotations

from curation.catalog import open_catalog, open_sources, set_label
from curation.config import CurateConfig
from curation.process import ANALYSIS
from curation.run import curate
from tests.curation.conftest import make_workspace

NEWER = ("human_face", "photo", "blurred")  # what ANALYSIS 2 added


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

    again = curate(root, cfg, progress=False)
    assert again.reanalysed == len(analysed) > 0 and again.processed >= len(analysed)
    assert first.crops == again.crops  # the same crops, found again
    ds.reload()
    assert sorted(ds.values("key")) == keys  # replaced, not doubled
    assert all(v is not None for f in NEWER for v in ds.values(f))
    row = ds.match({"sha256": sha}).first()
    assert (row.human_label, row.human_reason, row.decision) == ("reject", "mask", "rejected")
    assert set(open_sources(root).values("analysis")) <= {ANALYSIS, None}  # None: no crops to redo

    third = curate(root, cfg, progress=False)
    # Settled: nothing is analysed twice (only the missing file is tried again, as always).
    assert third.reanalysed == 0 and third.processed == sum(p.startswith("missing") for p in third.problems) == 1
