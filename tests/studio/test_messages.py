"""What the `studio` command says (issue 21, items 10 and 11): help texts whole and with their
[section] key names, one-line errors for a bad --truncation and a missing workspace."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from studio.cli import app, main

COMMANDS = ["init", "crawl", "merge", "curate", "label", "labels", "labels import", "export", "train",
            "sample", "project", "complete", "directions", "app", "pipeline", "schedule", "status", "demo"]


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    """`studio ARGV` in this process, as its console entry point runs it (exit status, out, err)."""
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_is_whole_at_80_columns(command):
    result = CliRunner().invoke(app, [*command.split(), "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0, result.output
    text = result.output
    cut = [line for line in text.splitlines()  # click cuts with "...", Rich with "…" (not usage's ARGS...)
           if line.rstrip(" │").endswith(("…", "...")) and not line.startswith("Usage:")]
    assert cut == [], text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_help_keeps_the_toml_section_names():
    runner = CliRunner()
    crawl = runner.invoke(app, ["crawl", "--help"], env={"COLUMNS": "80"}).output
    assert "[sources] urls" in crawl and "[crawl] image_domains" in " ".join(crawl.split())
    pipeline = runner.invoke(app, ["pipeline", "--help"], env={"COLUMNS": "80"}).output
    assert "[pipeline] sanity_check" in " ".join(pipeline.split())


@pytest.mark.parametrize("value", ["-1", "0"])
def test_a_truncation_that_keeps_no_latent_is_one_line(capsys, tmp_path, value):
    code, _, err = run_main(capsys, "sample", "--out", str(tmp_path / "g.png"), "-w", str(tmp_path),
                              "--truncation", value)
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("studio: error: --truncation must be > 0")
    assert not (tmp_path / "g.png").exists()


def test_sample_in_a_missing_workspace_says_so(capsys, tmp_path):
    code, _, err = run_main(capsys, "sample", "--out", str(tmp_path / "g.png"), "-w", str(tmp_path / "nonexistent"))
    assert code == 2 and err.count("\n") == 1, err
    assert f"no workspace at {tmp_path / 'nonexistent'}" in err and "promoted" not in err
