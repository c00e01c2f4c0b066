"""The Overview names a rule that fires on most of one source, shows its crops, and switches it
off for that source (AppTest on a real catalog)."""

from __future__ import annotations

import pytest

from tests.app.app_helpers import assert_clean, open_page, texts
from tests.curation.test_rules_catalog import _catalog, _decide

pytestmark = pytest.mark.slow  # AppTest of the Overview with a background rescore


def test_overview_lists_a_suspect_rule_and_switches_it_off(monkeypatch, fiftyone_db, tmp_path):
    from curation.catalog import CatalogInfo

    root = tmp_path / "ws"
    root.mkdir()
    (root / "studio.toml").write_text("")
    raw = root / "raw"
    raw.mkdir()
    (raw / "manifest.jsonl").write_text('{"url": "https://cg.example/a.png", "sha256": "' + "0" * 64
                                        + '", "path": "raw/00/a.png"}\n')
    ds = _catalog(fiftyone_db, root)
    _decide(ds)
    at = open_page(monkeypatch, root)
    assert_clean(at)
    shown = texts(at)
    assert "photo fired on 40 of 60 crops from cg.example" in shown and "weighed down" in shown
    button = next(b for b in at.button if b.label == "Switch photo off for cg.example")
    button.click().run()
    assert CatalogInfo.load(ds.reload() or ds).rules_off == {"cg.example": ["photo"]}
    assert "photo is off for cg.example" in texts(at)
