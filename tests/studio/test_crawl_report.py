"""`studio crawl --report FILE`: what the pipeline's crawl stage reads instead of the child's stderr."""

from __future__ import annotations

from studio.commands.crawl import CrawlReport, read_report
from tests.helpers import studio_in_process


def test_a_failed_crawl_writes_its_one_line_error_to_the_report(tmp_path):
    report = tmp_path / "report.json"
    r = studio_in_process("crawl", "-w", tmp_path / "none", "--report", report)
    assert r.returncode == 2
    assert read_report(report) == CrawlReport(error=r.stderr.strip().removeprefix("studio: error: "))


def test_a_crawl_that_wrote_no_report_reads_as_none(tmp_path):
    assert read_report(tmp_path / "missing.json") is None
