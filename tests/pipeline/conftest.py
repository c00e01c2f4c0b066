"""Fixtures of the pipeline tests."""

from __future__ import annotations

import pytest

from tests.pipeline.pipeline_helpers import Webhook


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()
