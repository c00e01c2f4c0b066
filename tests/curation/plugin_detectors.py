"""Detector plug-ins that declare what they detect (`factory.detects`, docs/curation.md), for
tests/curation/test_plugin_rules.py. Both find faces like the built-in `human` detector."""

from __future__ import annotations

from curation.detectors import human_detector


def drawn(cascade=None):
    return human_detector(cascade)


drawn.detects = "drawn"


def confused(cascade=None):
    return human_detector(cascade)


confused.detects = "faces"  # not one of the kinds: a clear error, not a guess
