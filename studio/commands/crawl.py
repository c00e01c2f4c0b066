"""`studio crawl`: crawl pages from the start URLs and store their images in raw/."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from studio.config import load_config, override
from studio.errors import UserError, user_errors
from studio.options import WorkspaceOpt
from studio.workspace import Workspace


def crawl(
    workspace: WorkspaceOpt = Path("studio-data"),
    url: list[str] = typer.Option(None, "--url", help="Start page(s); default: [sources] urls."),
    allow_domain: list[str] = typer.Option(
        None, "--allow-domain", help="Extra host(s) whose pages and images are crawled; start hosts always are."
    ),
    image_domain: list[str] = typer.Option(
        None, "--image-domain",
        help="Host(s) images may also come from (CDNs), never pages; adds to [crawl] image_domains. '*' = any.",
    ),
    max_pages: int = typer.Option(None, "--max-pages", help="Pages fetched at most (0 = no limit)."),
    max_images: int = typer.Option(None, "--max-images", help="Images stored at most (0 = no limit)."),
    depth: int = typer.Option(None, "--depth", help="Link depth from the start pages."),
) -> None:
    """Crawl pages within the allowed hosts and store their images in raw/ (resumable)."""
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
            result = run_crawl(ws.raw_dir, ws.crawl_dir, start_urls, domains, cfg)
    except OSError as exc:  # the workspace itself cannot be written (read-only, full, permissions)
        raise UserError(f"cannot write {exc.filename or ws.root}: {exc.strerror or exc}") from None
    s = result.stats
    rejected = sum(s["rejected"].values())
    typer.echo(
        f"crawled {s['pages']} pages: {s['stored']} images stored, {s['duplicates']} duplicates, "
        f"{rejected} rejected, {s['images_known']} already known "
        f"({s['duration_s']:.1f}s, {s['requests_per_s']:.2f} requests/s; stats in "
        f"{result.stats_path.relative_to(ws.root)})"
    )
    typer.echo(s["end"])
    if result.interrupted:
        print("studio: crawl interrupted; run `studio crawl` again to resume", file=sys.stderr)
        raise typer.Exit(130)
