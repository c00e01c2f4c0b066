"""`studio crawl`: crawl pages from the start URLs and store their images in raw/.

With `--report FILE` (hidden: the pipeline's crawl stage runs this command in a child process)
it also writes what happened as a `CrawlReport`, which the stage reads with `read_report`.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

import typer

from records import read_json, write_atomic_json
from studio.config import load_config, override
from studio.errors import UserError, environment_problem, user_errors
from studio.options import WorkspaceOpt
from studio.workspace import Workspace

INTERRUPTED = "crawl interrupted; run `studio crawl` again to resume"


@dataclass(frozen=True)
class CrawlReport:
    """What one `studio crawl` did, for the process that started it."""

    crawl: str | None = None  # the crawl's id (crawl/<id>/stats.json), when it finished one
    error: str | None = None  # the one-line error a failed crawl printed
    interrupted: bool = False  # stopped early (Ctrl-C, SIGTERM): the next crawl resumes


def read_report(path: Path) -> CrawlReport | None:
    """The report a `studio crawl --report FILE` wrote; None when it wrote none (it crashed)."""
    raw = read_json(path)
    if raw is None:
        return None
    return CrawlReport(crawl=raw.get("crawl"), error=raw.get("error"), interrupted=bool(raw.get("interrupted")))


def crawl(
    workspace: WorkspaceOpt = Path("studio-data"),
    url: Annotated[list[str] | None, typer.Option("--url", help="Start page(s); default: [sources] urls.")] = None,
    allow_domain: Annotated[list[str] | None, typer.Option(
        "--allow-domain", help="Extra host(s) whose pages and images are crawled; start hosts always are.")] = None,
    image_domain: Annotated[list[str] | None, typer.Option(
        "--image-domain",
        help="Host(s) images may also come from (CDNs), never pages; adds to [crawl] image_domains. '*' = any.",
    )] = None,
    max_pages: Annotated[int | None, typer.Option("--max-pages", help="Pages fetched at most (0 = no limit).")] = None,
    max_images: Annotated[int | None, typer.Option("--max-images", help="Images stored at most (0 = no limit).")] = None,
    depth: Annotated[int | None, typer.Option("--depth", help="Link depth from the start pages.")] = None,
    report: Annotated[Path | None, typer.Option("--report", hidden=True,
                                                help="Also write a CrawlReport (JSON) here.")] = None,
) -> None:
    """Crawl pages within the allowed hosts and store their images in raw/ (resumable)."""
    try:
        result, ws = _crawl(workspace, url, allow_domain, image_domain, max_pages, max_images, depth)
    except Exception as exc:
        why = str(exc) if isinstance(exc, UserError) else environment_problem(exc)
        if report is not None and why is not None:  # a bug keeps its traceback, and writes no report
            write_atomic_json(report, asdict(CrawlReport(error=why)))
        raise
    if report is not None:
        write_atomic_json(report, asdict(CrawlReport(result.stats_path.parent.name, None, result.interrupted)))
    s = result.stats
    typer.echo(
        f"crawled {s.pages} pages: {s.stored} images stored, {s.duplicates} duplicates, "
        f"{s.rejected_total} rejected, {s.images_known} already known "
        f"({s.duration_s:.1f}s, {s.requests_per_s:.2f} requests/s; stats in "
        f"{result.stats_path.relative_to(ws.root)})"
    )
    typer.echo(s.end)
    if result.interrupted:
        print(f"studio: {INTERRUPTED}", file=sys.stderr)
        raise typer.Exit(130)


def _crawl(workspace: Path, url: list[str] | None, allow_domain: list[str] | None, image_domain: list[str] | None,
           max_pages: int | None, max_images: int | None, depth: int | None):
    """(crawler.run.CrawlResult, the workspace) of one crawl with the flags over studio.toml."""
    from crawler.errors import CrawlError
    from crawler.run import run_crawl

    ws = Workspace.at(workspace).require()
    config = load_config(ws.config_path)
    cfg = override(config.crawl, max_pages=max_pages, max_images=max_images, depth=depth,
                   image_domains=[*config.crawl.image_domains, *image_domain] if image_domain else None)
    start_urls = list(url or config.sources.urls)
    domains = [*config.sources.allow_domains, *(allow_domain or [])]
    try:
        with user_errors(CrawlError), ws.lock("crawl"):
            return run_crawl(ws.raw_dir, ws.crawl_dir, start_urls, domains, cfg), ws
    except OSError as exc:  # the workspace itself cannot be written (read-only, full, permissions)
        raise UserError(f"cannot write {exc.filename or ws.root}: {exc.strerror or exc}") from None
