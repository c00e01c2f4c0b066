"""Finding image URLs and followable links in an HTML page (pure functions, no I/O).

Images come from `<img src>`, the largest `srcset` candidate (also of `<picture><source>`),
lazy-load attributes, `<a href>` to image files, `og:image` and CSS `url()` in `style="…"`
attributes, `<style>` blocks and linked stylesheets (which the spider fetches); URLs are resolved
against `<base href>` (a stylesheet's against the stylesheet). A malformed URL (`http://[::1`, a
port above 65535) is skipped on its own and counted, never the whole page; so is a URL with a
user name or password in it (`http://user:pass@host/`): credentials are never sent or logged.
Hosts are compared by hostname, never `host:port` (LinkExtractor's trap).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from scrapy.http import HtmlResponse
from scrapy.utils.response import get_base_url
from w3lib.url import safe_url_string

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".webp", ".gif")
# Image types we never keep: skipped without a request, counted as unsupported_format.
UNSUPPORTED_EXTS = (".svg", ".svgz", ".ico", ".bmp", ".tif", ".tiff", ".avif", ".heic", ".jxl")
LAZY_ATTRS = ("data-src", "data-original", "data-lazy-src")
SRCSET_ATTRS = ("srcset", "data-srcset")
SOURCE_TYPES_OK = ("", "image/jpeg", "image/png", "image/webp", "image/gif")
# CSS `url(...)`, quoted or not; in <style> blocks only inside background declarations (fonts
# and cursors use url() too).
CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+?)\1\s*\)""", re.I)
CSS_BACKGROUND = re.compile(r"background(?:-image)?\s*:([^;}]*)", re.I)


@dataclass(frozen=True)
class ImageRef:
    url: str  # absolute URL
    alt: str  # alt text (may be empty)
    source: str  # where it was found: img, srcset, picture, lazy, link, og, css


class MalformedUrl(ValueError):
    """A URL on a page that cannot be requested (bad IPv6 literal, port out of range…)."""


def has_credentials(url: str) -> bool:
    """Whether `url` carries a user name or password (`scheme://user:pass@host/`)."""
    try:
        return "@" in urlsplit(url).netloc
    except ValueError:
        return False


def redacted(url: str) -> str:
    """`url` with its user name and password replaced by `***`, fit to print or log."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("@", 1)[-1] if "@" in url else url
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()


def clean_url(base: str, raw: str) -> str | None:
    """`raw` resolved against `base`, without fragment; None for non-http(s) or empty.

    Raises MalformedUrl for a URL no request could be made of, so the caller counts it and
    carries on with the rest of the page.
    """
    raw = (raw or "").strip()
    if not raw or raw.startswith(("data:", "javascript:", "mailto:", "tel:", "#")):
        return None
    try:
        url = urljoin(base, raw).split("#", 1)[0]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return None
        parts.port  # noqa: B018 (raises ValueError when out of range or not a number)
        if not parts.hostname or any(c in parts.hostname for c in " <>\"{}|\\^`"):
            raise ValueError(f"bad host {parts.hostname!r}")
        if "@" in parts.netloc:  # never sent, and never logged: only the redacted form is
            raise MalformedUrl(f"{redacted(url)[:200]!r}: a user name and password in a URL are not sent")
        return safe_url_string(url)
    except MalformedUrl:
        raise
    except ValueError as exc:
        raise MalformedUrl(f"{redacted(raw)[:200]!r}: {exc}") from None


def parse_srcset(value: str) -> list[tuple[str, float, float]]:
    """`srcset` candidates as (url, width descriptor or 0, density descriptor or 1)."""
    out = []
    for part in re.split(r",\s+|,(?=\S+\s)", value.strip()):
        bits = part.strip().split()
        if not bits:
            continue
        url, width, density = bits[0].rstrip(","), 0.0, 1.0
        for desc in bits[1:]:
            try:
                if desc.endswith("w"):
                    width = float(desc[:-1])
                elif desc.endswith("x"):
                    density = float(desc[:-1])
            except ValueError:
                continue
        if url:
            out.append((url, width, density))
    return out


def largest_candidate(candidates: list[tuple[str, float, float]]) -> str | None:
    """The candidate with the largest width descriptor, else the largest density."""
    if not candidates:
        return None
    return max(candidates, key=lambda c: (c[1], c[2]))[0]


def host_allowed(url: str, domains: list[str]) -> bool:
    """True when the URL's hostname is one of `domains` or a subdomain of one (port ignored).

    `"*"` in `domains` allows every host."""
    host = (urlsplit(url).hostname or "").lower()
    return any(d == "*" or host == d or host.endswith("." + d) for d in domains)


def resolve(base: str, raw: str | None, malformed: list[str] | None = None) -> str | None:
    """`clean_url`, with a malformed URL noted in `malformed` (when given) instead of raised."""
    try:
        return clean_url(base, raw or "")
    except MalformedUrl as exc:
        if malformed is not None:
            malformed.append(str(exc))
        return None


def is_http(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https")


def path_ext(url: str) -> str:
    try:
        path = urlsplit(url).path.lower()
    except ValueError:  # malformed: the caller's clean_url counts it
        return ""
    dot = path.rfind(".")
    return path[dot:] if dot > path.rfind("/") else ""


def css_urls(css: str, backgrounds_only: bool) -> list[str]:
    """`url()` values of a CSS text (a style attribute, or backgrounds of a <style> block)."""
    chunks = CSS_BACKGROUND.findall(css) if backgrounds_only else [css]
    return [m.group(2) for chunk in chunks for m in CSS_URL.finditer(chunk)]


def find_images(response: HtmlResponse, malformed: list[str] | None = None) -> list[ImageRef]:
    """Every image URL of the page, once, in document order; bad URLs go to `malformed`."""
    base = get_base_url(response)
    found: dict[str, ImageRef] = {}

    def add(raw: str | None, alt: str, source: str) -> None:
        url = resolve(base, raw, malformed)
        if url is not None and url not in found:
            found[url] = ImageRef(url, alt.strip(), source)

    for picture in response.css("picture"):
        candidates = []
        for source in picture.css("source"):
            if (source.attrib.get("type") or "").lower() in SOURCE_TYPES_OK:
                for attr in SRCSET_ATTRS:
                    candidates += parse_srcset(source.attrib.get(attr, ""))
        img = picture.css("img")
        alt = img.attrib.get("alt", "") if img else ""
        if img:
            for attr in SRCSET_ATTRS:
                candidates += parse_srcset(img.attrib.get(attr, ""))
        best = largest_candidate(candidates)
        if best is None and img:
            best = _lazy_or_src(img[0].attrib)
        add(best, alt, "picture")

    for img in response.xpath("//img[not(ancestor::picture)]"):
        attrs = img.attrib
        candidates = [c for attr in SRCSET_ATTRS for c in parse_srcset(attrs.get(attr, ""))]
        best = largest_candidate(candidates)
        if best is not None:
            add(best, attrs.get("alt", ""), "srcset")
        else:
            lazy = next((attrs[a] for a in LAZY_ATTRS if attrs.get(a, "").strip()), None)
            add(lazy or attrs.get("src"), attrs.get("alt", ""), "lazy" if lazy else "img")

    for a in response.css("a[href]"):
        href = a.attrib["href"]
        if path_ext(href.split("?", 1)[0].split("#", 1)[0]) in IMAGE_EXTS + UNSUPPORTED_EXTS:
            alt = a.css("img::attr(alt)").get() or " ".join(a.css("::text").getall())
            add(href, alt, "link")

    og_alt = response.css('meta[property="og:image:alt"]::attr(content)').get("")
    for prop in ("og:image", "og:image:url", "og:image:secure_url"):
        for meta in response.css(f'meta[property="{prop}"], meta[name="{prop}"]'):
            add(meta.attrib.get("content"), og_alt, "og")

    for el in response.xpath("//*[@style]"):
        for raw in css_urls(el.attrib["style"], backgrounds_only=False):
            add(raw, el.attrib.get("title", "") or el.attrib.get("aria-label", ""), "css")
    for style in response.xpath("//style/text()").getall():
        for raw in css_urls(style, backgrounds_only=True):
            add(raw, "", "css")
    return list(found.values())


def _lazy_or_src(attrs: dict[str, str]) -> str | None:
    lazy = next((attrs[a] for a in LAZY_ATTRS if attrs.get(a, "").strip()), None)
    return lazy or attrs.get("src")


def find_stylesheets(response: HtmlResponse, malformed: list[str] | None = None) -> list[str]:
    """The page's external stylesheets (`<link rel="stylesheet" href>`), once each, in order:
    their background images are the page's images too (galleries put thumbnails there)."""
    base = get_base_url(response)
    urls = (resolve(base, link.attrib["href"], malformed) for link in response.css("link[href]")
            if "stylesheet" in (link.attrib.get("rel") or "").lower().split())
    return list(dict.fromkeys(u for u in urls if u))


def stylesheet_images(css_url: str, css: str, malformed: list[str] | None = None) -> list[str]:
    """Background image URLs of a stylesheet, resolved against the stylesheet (as CSS does)."""
    urls = (resolve(css_url, raw, malformed) for raw in css_urls(css, backgrounds_only=True))
    return list(dict.fromkeys(u for u in urls if u))
