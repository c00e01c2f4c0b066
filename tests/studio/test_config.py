"""studio.toml: the template is the defaults, and bad files fail with one clear line."""

from __future__ import annotations

import dataclasses

import pytest

from studio.config import TEMPLATE, StudioConfig, load_config, override
from studio.errors import UserError


def test_template_parses_to_the_defaults():
    assert load_config(TEMPLATE) == StudioConfig()


def test_template_mentions_every_field():
    text = TEMPLATE.read_text()
    defaults = StudioConfig()
    for section in dataclasses.fields(StudioConfig):
        assert f"[{section.name}]" in text
        for f in dataclasses.fields(getattr(defaults, section.name)):
            assert f"\n{f.name} =" in text, f"[{section.name}] {f.name} missing from the template"


def test_missing_file_gives_defaults(tmp_path):
    assert load_config(tmp_path / "studio.toml") == StudioConfig()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[crawl]\nmax_pagez = 3\n", "unknown key 'max_pagez'"),
        ("[crawl]\nmax_pages = 'many'\n", "max_pages must be int"),
        ("[crawl]\nobey_robots = 1\n", "obey_robots must be true or false"),
        ("[crawl]\ndepth = -1\n", "depth must be >= 0"),
        ("[train]\nresolution = 48\n", "resolution must be 32, 64, 128 or 256"),
        ("[sources]\nurls = 'http://x'\n", "urls must be a list"),
        ("crawl = 3\n", "[crawl] must be a table"),
        ("[crawl\n", "not valid TOML"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path, text, message):
    path = tmp_path / "studio.toml"
    path.write_text(text)
    with pytest.raises(UserError) as exc:
        load_config(path)
    assert message in str(exc.value)
    assert "\n" not in str(exc.value)


def test_ints_are_accepted_for_floats(tmp_path):
    path = tmp_path / "studio.toml"
    path.write_text("[crawl]\ndownload_delay = 2\n")
    assert load_config(path).crawl.download_delay == 2.0


def test_override_applies_given_flags_only():
    crawl = StudioConfig().crawl
    new = override(crawl, max_pages=5, depth=None)
    assert new.max_pages == 5 and new.depth == crawl.depth
    with pytest.raises(UserError, match="max_pages must be >= 0"):
        override(crawl, max_pages=-1)
