"""Finding images and links in HTML (no network)."""

from __future__ import annotations

from scrapy.http import HtmlResponse

from crawler.extract import find_images, host_allowed, largest_candidate, parse_srcset


def page(body: str, url: str = "http://site.test:8080/dir/page.html", head: str = "") -> HtmlResponse:
    html = f"<html><head>{head}</head><body>{body}</body></html>"
    return HtmlResponse(url, body=html.encode(), encoding="utf-8")


def urls(response) -> list[str]:
    return [ref.url for ref in find_images(response)]


def test_srcset_largest_by_width_and_density():
    assert largest_candidate(parse_srcset("a.jpg 320w, b.jpg 1280w, c.jpg 640w")) == "b.jpg"
    assert largest_candidate(parse_srcset("a.jpg, b.jpg 2x,c.jpg 1.5x")) == "b.jpg"
    assert largest_candidate(parse_srcset("")) is None


def test_every_image_form():
    body = """
    <img src="plain.jpg" alt="Plain">
    <img src="small.jpg" srcset="small.jpg 100w, big.jpg 900w">
    <picture><source type="image/avif" srcset="huge.avif 4000w">
      <source srcset="p-small.webp 300w, p-big.webp 1200w"><img src="p-fallback.jpg" alt="pic"></picture>
    <img src="data:image/gif;base64,AAAA" data-src="lazy1.jpg">
    <img src="blank.gif" data-original="lazy2.png"> <img data-lazy-src="lazy3.webp">
    <a href="/full/photo.JPG">full size</a> <a href="other.html">page</a>
    """
    head = '<meta property="og:image" content="https://cdn.test/og.jpg">'
    found = urls(page(body, head=head))
    base = "http://site.test:8080/dir/"
    assert found == [
        f"{base}p-big.webp", f"{base}plain.jpg", f"{base}big.jpg", f"{base}lazy1.jpg", f"{base}lazy2.png",
        f"{base}lazy3.webp", "http://site.test:8080/full/photo.JPG", "https://cdn.test/og.jpg",
    ]
    alts = {ref.url: ref.alt for ref in find_images(page(body, head=head))}
    assert alts[f"{base}plain.jpg"] == "Plain" and alts[f"{base}p-big.webp"] == "pic"


def test_relative_urls_use_base_href():
    found = urls(page('<img src="a.jpg"><a href="b.png">b</a>', head='<base href="/media/">'))
    assert found == ["http://site.test:8080/media/a.jpg", "http://site.test:8080/media/b.png"]


def test_same_image_once():
    assert len(urls(page('<img src="a.jpg"><img src="a.jpg#x"><a href="a.jpg">a</a>'))) == 1


def test_hosts_compared_without_port():
    assert host_allowed("http://127.0.0.1:8765/x", ["127.0.0.1"])
    assert host_allowed("https://img.example.org/x", ["example.org"])
    assert not host_allowed("http://127.0.0.2:8765/x", ["127.0.0.1"])
    assert not host_allowed("http://badexample.org/x", ["example.org"])


def test_a_malformed_url_is_skipped_alone():
    body = ('<img src="http://[::1"><img src="ok.jpg"><img src="http://site.test:99999/x.jpg">'
            '<a href="http://[::1">x</a><a href="next.html">y</a><a href="//a b/c">z</a>')
    bad: list[str] = []
    assert [ref.url for ref in find_images(page(body), bad)] == ["http://site.test:8080/dir/ok.jpg"]
    assert len(bad) == 2
    bad = []
    from crawler.links import find_links

    assert [link.url for link in find_links(page(body), bad)] == ["http://site.test:8080/dir/next.html"]
    assert len(bad) == 2


def test_a_url_with_credentials_is_skipped_and_reported_without_them():
    body = ('<img src="http://artist:s3cret@site.test/a.jpg"><img src="ok.jpg">'
            '<a href="//artist:s3cret@site.test/next.html">x</a>')
    bad: list[str] = []
    assert [ref.url for ref in find_images(page(body), bad)] == ["http://site.test:8080/dir/ok.jpg"]
    from crawler.links import find_links

    assert find_links(page(body), bad) == []
    assert len(bad) == 2 and all("***@site.test" in b and "s3cret" not in b for b in bad), bad


def test_css_background_images():
    body = ('<div style="background-image: url(\'a.jpg\')"></div><span style="background:url(b.png) no-repeat">'
            '</span><style>.x { background: #fff url("/c.webp") } @font-face { src: url(f.woff2) }</style>')
    assert urls(page(body)) == ["http://site.test:8080/dir/a.jpg", "http://site.test:8080/dir/b.png",
                                "http://site.test:8080/c.webp"]


def test_pagination_links():
    from crawler.links import find_links

    body = ('<a rel="next" href="p2.html">→</a> <a href="?page=3">3</a> <a href="/post/3">3</a>'
            '<a href="/blog/page/4/">Older posts »</a> <div class="pagination"><a href="/x">Last</a></div>'
            '<a href="/about.html">About</a>')
    head = '<link rel="prev" href="p0.html">'
    got = {link.url.rsplit("/", 1)[-1] or link.url.split("/")[-2]: link.pagination
           for link in find_links(page(body, head=head))}
    assert got == {"p0.html": True, "p2.html": True, "page.html?page=3": True, "3": False, "4": True,
                   "x": True, "about.html": False}
