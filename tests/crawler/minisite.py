"""A three-image site for the crawler's robustness tests (robots.txt failures, unsafe state)."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.gallery_site import _jpeg


def build_mini_site(root: Path, robots: str = "User-agent: *\nDisallow: /private/\n") -> Path:
    (root / "img").mkdir(parents=True)
    for i in range(3):
        (root / "img" / f"{i}.jpg").write_bytes(_jpeg(1000 + i))
    (root / "index.html").write_text(
        "<html><body>" + "".join(f'<img src="/img/{i}.jpg">' for i in range(3))
        + '<a href="two.html">two</a></body></html>')
    (root / "two.html").write_text("<html><body>two</body></html>")
    (root / "robots.txt").write_text(robots)
    return root
