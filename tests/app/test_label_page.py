"""The Label page says below-chance accuracy plainly, its badge agrees with the text, the
reject buttons show their whole reasons, and Skip moves on without labelling."""

from __future__ import annotations

import pytest
from streamlit.proto.Metric_pb2 import Metric as MetricProto

from curation.catalog import open_catalog, set_label
from curation.scoring import accuracy_summary
from tests.app.app_helpers import assert_clean, open_page, texts

ONE_OF_SEVEN = {"cv_folds": 7, "cv_accuracy": 1 / 7, "cv_hits": 1,
                "labels": {"accept": 4, "reject": 3}}  # 14 % (3–51 %) against 57 % chance


@pytest.fixture
def catalog(curated_ws, monkeypatch):
    from curation.rescoring import Rescorer

    monkeypatch.setattr(Rescorer, "request", lambda self: None)
    ds = open_catalog(curated_ws)
    yield ds
    for sha in {s for s, lab in zip(*ds.values(["sha256", "human_label"]), strict=True) if lab}:
        set_label(ds, sha, None)


def test_below_chance_is_said_plainly():
    s = accuracy_summary(ONE_OF_SEVEN)
    assert s["below_chance"] and not s["beats_chance"]
    assert "below chance" in s["text"] and "not yet distinguishable" not in s["text"]
    unsure = accuracy_summary({**ONE_OF_SEVEN, "cv_accuracy": 3 / 7, "cv_hits": 3})
    assert not unsure["below_chance"] and "not yet distinguishable" in unsure["text"]
    assert not accuracy_summary(None)["below_chance"]


@pytest.mark.parametrize(("model", "colour", "direction", "words"), [
    (ONE_OF_SEVEN, "RED", "DOWN", "-43 pts vs chance 57%: below chance"),
    ({**ONE_OF_SEVEN, "cv_accuracy": 3 / 7, "cv_hits": 3}, "GRAY", "NONE",
     "not distinguishable from chance"),
    ({"cv_folds": 60, "cv_accuracy": 58 / 60, "cv_hits": 58,
      "labels": {"accept": 40, "reject": 20}}, "GREEN", "UP", "above chance"),
])
def test_the_badge_agrees_with_the_text(monkeypatch, curated_ws, catalog, model, colour,
                                         direction, words):
    import curation.scoring

    monkeypatch.setattr(curation.scoring, "accuracy_summary",
                        lambda _: accuracy_summary(model))
    at = open_page(monkeypatch, curated_ws, "label.py")
    assert_clean(at)
    metric = next(m for m in at.metric if m.label == "Pollution filter accuracy")
    assert words in metric.proto.delta
    assert MetricProto.MetricColor.Name(metric.proto.color) == colour
    assert MetricProto.MetricDirection.Name(metric.proto.direction) == direction
    assert accuracy_summary(model)["text"] in texts(at)


def test_reject_buttons_whole_and_skip_moves_on(monkeypatch, curated_ws, catalog):
    at = open_page(monkeypatch, curated_ws, "label.py")
    assert_clean(at)
    assert [at.button(key=f"reject-{r}").label for r in ("cat", "mask", "not-a-face", "bad-crop")] \
        == ["cat", "mask", "not-a-face", "bad-crop"]
    shown = lambda: at.image[0].proto.imgs[0].url  # noqa: E731 (the crop under review)
    first = shown()
    at.button(key="skip").click().run()
    assert_clean(at)
    assert shown() != first
    assert not [lab for lab in catalog.values("human_label") if lab]  # nothing labelled
    at.button(key="accept").click().run()  # the label goes to the crop shown, not the skipped
    labelled = [s for s, lab in zip(*catalog.values(["sha256", "human_label"]), strict=True) if lab]
    assert len(labelled) == 1
    assert "Last: accept" in texts(at)
