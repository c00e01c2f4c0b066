"""Helpers of the crawler tests: run `studio crawl` in a child process (one reactor per process)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import REPO as REPO  # re-exported: the crawler tests run `studio` from it
from tests.helpers import studio, studio_argv, studio_in_process

# Politeness lowered for speed against our own server only; defaults stay polite (test_politeness).
FAST_CRAWL = {"download_delay": "0.0", "autothrottle": "false", "concurrency_per_domain": "4", "timeout_s": "10.0"}


def make_workspace(path: Path, **crawl: str) -> Path:
    """`studio init` (in-process), then set [crawl] keys (values as TOML literals)."""
    init = studio_in_process("init", "-w", path)
    assert init.returncode == 0, init.stderr
    toml = path / "studio.toml"
    lines = toml.read_text().splitlines()
    values = {**FAST_CRAWL, **crawl}
    out, section = [], ""
    for line in lines:
        if line.startswith("["):
            section = line.strip()
        key = line.split("=", 1)[0].strip()
        if section == "[crawl]" and key in values:
            line = f"{key} = {values.pop(key)}"
        out.append(line)
    assert not values, f"unknown [crawl] keys {values}"
    toml.write_text("\n".join(out) + "\n")
    return path


@dataclass
class CrawlRun:
    """What one `studio crawl` left behind, read right after it ended."""

    returncode: int
    stdout: str
    stderr: str
    workspace: Path
    stats: dict
    manifest: list[dict]


def latest_stats(workspace: Path) -> dict:
    runs = sorted((workspace / "crawl").glob("*/stats.json"))
    return json.loads(runs[-1].read_text()) if runs else {}


def read_manifest(workspace: Path) -> list[dict]:
    path = workspace / "raw" / "manifest.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def studio_cmd(workspace: Path, *args: str) -> list[str]:
    return studio_argv("crawl", "-w", workspace, *args)


def run_crawl(workspace: Path, *args: str, timeout: float = 120) -> CrawlRun:
    """`studio crawl` in a child process (Twisted's reactor runs once per process): mark the test `cli`."""
    proc = studio("crawl", "-w", workspace, *args, timeout=timeout, env={"PYTHONUNBUFFERED": "1"})
    return CrawlRun(proc.returncode, proc.stdout, proc.stderr, workspace, latest_stats(workspace),
                    read_manifest(workspace))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return make_workspace(tmp_path / "ws")
