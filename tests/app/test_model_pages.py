"""Overview, Train and Generate on a workspace with real (tiny) runs."""

from __future__ import annotations

import json
import shutil

from tests.app.app_helpers import assert_clean, open_page, texts


def test_overview_shows_domains_crawl_runs_and_promoted_model(monkeypatch, trained_ws):
    at = open_page(monkeypatch, trained_ws)
    assert_clean(at)
    body = texts(at)
    assert "Latest crawl" in body and "00000-tiny-r32" in body
    domains = at.dataframe[0].value
    # hosts as the catalog names them (curation.catalog.domain_of): www. kept, so both views agree
    assert dict(zip(domains["domain"], domains["images"], strict=True)) == {"a.example": 2, "www.b.example": 1}
    assert [m.value for m in at.metric if m.label == "Stored"] == ["3"]
    assert len(at.image) == 1  # the promoted model's sample grid


def test_train_lists_runs_with_curves_and_timeline(monkeypatch, trained_ws):
    at = open_page(monkeypatch, trained_ws, "train.py")
    assert_clean(at)
    runs = at.dataframe[0].value
    assert list(runs["run"]) == ["00001-tiny-r32", "00000-tiny-r32"]
    assert [m.value for m in at.metric if m.label == "Step"] == ["20"]
    timeline = at.select_slider(key="timeline-00001-tiny-r32")
    assert timeline.options == ["10", "20"] and timeline.value == 20
    before = at.image[0].value
    timeline.set_value(10).run()
    assert at.image[0].value != before and "step 10" in at.image[0].captions[0]


def test_compare_shows_the_config_diff(monkeypatch, trained_ws):
    at = open_page(monkeypatch, trained_ws, "train.py")
    diff = next(d.value for d in at.dataframe if "setting" in d.value)
    assert {"lr_g", "seed"} <= set(diff["setting"])
    assert "resolution" not in set(diff["setting"])


def test_promote_writes_current_json(monkeypatch, trained_ws, tmp_path):
    ws = shutil.copytree(trained_ws, tmp_path / "ws")
    at = open_page(monkeypatch, ws, "train.py")
    at.selectbox(key="run").set_value("00001-tiny-r32").run()
    next(b for b in at.button if b.label == "Promote").click().run()
    assert_clean(at)
    current = json.loads((ws / "models" / "current.json").read_text())
    assert current["run"] == "runs/00001-tiny-r32" and current["export"] == "v0001"
    assert current["checkpoint"].endswith("step-0000020")
    assert "Promoted 00001-tiny-r32" in texts(at)


def test_generate_same_seed_same_pixels(monkeypatch, trained_ws):
    at = open_page(monkeypatch, trained_ws, "generate.py")
    assert_clean(at)
    first = at.image[0].value
    at.number_input(key="seed").set_value(7).run()
    seven = at.image[0].value
    assert seven != first
    at.number_input(key="seed").set_value(0).run()
    assert at.image[0].value == first  # media URLs are content hashes: same bytes, same URL
    labels = [b.label for b in at.download_button]
    assert "Download PNG" in labels and "Download GIF" in labels


def test_surprise_me_changes_the_seed(monkeypatch, trained_ws):
    at = open_page(monkeypatch, trained_ws, "generate.py")
    next(b for b in at.button if b.label == "Surprise me").click().run()
    assert_clean(at)
    assert at.session_state.seed != 0 or at.number_input(key="seed").value != 0


def test_generate_nearest_training_image(monkeypatch, trained_ws):
    at = open_page(monkeypatch, trained_ws, "generate.py")
    assert any("nearest training image" in c for img in at.image for c in img.captions)
    assert "Nearest training image" in [e.label for e in at.expander]
