"""Links to follow from a page, and which of them are pagination (pure functions, no I/O).

Pagination ("next", "older posts", page numbers, `rel=next`) does not count as one level deeper:
a gallery of 500 listing pages is 500 pages at the same depth, bounded by `max_pages`, not by
`depth`. A malformed href is skipped on its own and reported to the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scrapy.http import HtmlResponse
from scrapy.linkextractors import IGNORED_EXTENSIONS
from scrapy.utils.response import get_base_url

from crawler.extract import path_ext, resolve

SKIP_EXTS = {f".{e}" for e in IGNORED_EXTENSIONS}  # images, archives, media, office files
PAGER_RELS = {"next", "prev", "previous"}
# Link texts of pagers, after lower-casing and stripping; digits are page numbers.
PAGER_TEXT = re.compile(
    r"^(?:\d{1,5}|next|next page|next ›|next »|older|older posts|older entries|newer|newer posts|"
    r"previous|prev|previous page|more|load more|show more|[»›→>]+|[«‹←<]+|…)$"
)
PAGER_WORDS = re.compile(r"\b(?:next|older|prev(?:ious)?|newer)\b", re.I)
# Containers of pagers (class, id or role attribute values).
PAGER_CONTAINER = re.compile(r"pagination|pager|page-numbers|nav-links|paging", re.I)
# URLs that look like a page of a listing: ?page=3, ?p=3, /page/3/, page-3.html, /p3
PAGER_URL = re.compile(r"(?:[?&](?:page|p|pg|paged|offset|start)=\d+|/page/\d+|page[-_]?\d+|/p\d+(?:/|$))", re.I)


@dataclass(frozen=True)
class LinkRef:
    url: str
    pagination: bool  # a next/previous/numbered page of the same listing


def is_pagination(rel: str, text: str, href: str, container: str) -> bool:
    """Whether one link is part of a pager (see the module docstring)."""
    if PAGER_RELS & set(rel.lower().split()):
        return True
    text = " ".join(text.lower().split())
    if text and PAGER_TEXT.match(text):
        return not text.isdigit() or bool(PAGER_URL.search(href) or PAGER_CONTAINER.search(container))
    if PAGER_CONTAINER.search(container):
        return True
    return bool(text and PAGER_WORDS.search(text) and PAGER_URL.search(href))


def find_links(response: HtmlResponse, malformed: list[str] | None = None) -> list[LinkRef]:
    """Followable http(s) links of the page, once each, in document order."""
    base = get_base_url(response)
    found: dict[str, LinkRef] = {}

    def add(raw: str, pagination: bool) -> None:
        url = resolve(base, raw, malformed)
        if url is None or path_ext(url) in SKIP_EXTS:
            return
        old = found.get(url)
        if old is None or (pagination and not old.pagination):
            found[url] = LinkRef(url, pagination)

    for link in response.xpath("//link[@href and @rel]"):
        if PAGER_RELS & set(link.attrib["rel"].lower().split()):
            add(link.attrib["href"], True)
    for a in response.xpath("//a[@href] | //area[@href]"):
        attrs = a.attrib
        text = " ".join(a.xpath(".//text()").getall()) or attrs.get("aria-label", "") or attrs.get("title", "")
        container = " ".join(
            a.xpath("ancestor-or-self::*[position() <= 4]/@class | ancestor-or-self::*[position() <= 4]/@id"
                    " | ancestor-or-self::*[position() <= 4]/@role | ancestor-or-self::*[position() <= 4]/@aria-label")
            .getall()
        )
        add(attrs["href"], is_pagination(attrs.get("rel", ""), text, attrs["href"], container))
    return list(found.values())
