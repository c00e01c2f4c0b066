"""Images skipped because their host is not allowed are said in the end line: how many, from
which hosts, and the flag or setting that allows them (issue 21, item 3)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest

from studio.demo.server import serve
from tests.crawler.conftest import make_workspace, run_crawl
from tests.fixtures.gallery_site import _jpeg

pytestmark = pytest.mark.cli


@contextmanager
def gallery_on_a_cdn(tmp_path: Path):
    """A gallery page on 127.0.0.1 whose images live on a CDN (127.0.0.2) and another host."""
    main, cdn = tmp_path / "main", tmp_path / "cdn"
    (cdn / "img").mkdir(parents=True)
    main.mkdir()
    (main / "local.jpg").write_bytes(_jpeg(1))
    for i in range(3):
        (cdn / "img" / f"{i}.jpg").write_bytes(_jpeg(10 + i))
    with serve(cdn, host="127.0.0.2") as cdn_site:
        imgs = ['<img src="/local.jpg">']
        imgs += [f'<img src="{cdn_site.url}img/{i}.jpg">' for i in range(3)]
        imgs.append('<img src="http://img.other.invalid/a.jpg">')  # never asked: it does not resolve
        (main / "index.html").write_text("<html><body>" + "".join(imgs) + "</body></html>")
        with serve(main) as main_site:
            yield main_site, cdn_site


@pytest.mark.slow
def test_the_end_line_names_the_skipped_image_hosts_and_how_to_allow_them(tmp_path):
    with gallery_on_a_cdn(tmp_path) as (main, cdn):
        first = run_crawl(make_workspace(tmp_path / "ws1"), "--url", main.url)
        cdn_asked_first = [r.path for r in cdn.requests]
        allowed = run_crawl(make_workspace(tmp_path / "ws2"), "--url", main.url, "--image-domain", "127.0.0.2")
    assert first.returncode == 0, first.stderr
    end = first.stdout.splitlines()[-1]
    assert end.startswith("finished: every page reachable")
    assert "4 images skipped on other hosts (127.0.0.2 3, img.other.invalid 1)" in end, end
    assert "--image-domain 127.0.0.2" in end and 'image_domains = ["127.0.0.2"]' in end, end
    assert first.stats["images_offsite_hosts"] == {"127.0.0.2": 3, "img.other.invalid": 1}
    assert first.stats["end"] == end and first.stats["stored"] == 1
    assert not [p for p in cdn_asked_first if p.startswith("/img/")]  # skipped, not fetched

    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stats["stored"] == 4
    end = allowed.stdout.splitlines()[-1]
    assert "1 image skipped on other hosts (img.other.invalid 1)" in end, end


def test_no_note_when_nothing_was_skipped(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text('<html><body><img src="/a.jpg"></body></html>')
    (tmp_path / "site" / "a.jpg").write_bytes(_jpeg(3))
    with serve(tmp_path / "site") as site:
        run = run_crawl(make_workspace(tmp_path / "ws"), "--url", site.url)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "finished: every page reachable within the allowed hosts was crawled"
