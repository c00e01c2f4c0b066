"""A small local website to crawl: for the README demo and the crawler tests.

`build_demo_site(dir)` writes HTML pages and images made from scikit-image / scikit-learn sample
data (faces to find, and pollution such as a cat, coffee, landscapes); `studio.demo.server.serve(dir)`
runs it on 127.0.0.1 in a background thread and logs every request, so callers can check what was fetched.
Nothing is downloaded: all data ships with the installed packages.
"""

from __future__ import annotations

import html
import threading
from contextlib import suppress
from pathlib import Path

from studio.demo.server import serve

ROBOTS_TXT = "User-agent: *\nDisallow: /private/\n"

# Every image of the demo site that a polite crawl should store (path → what it shows).
DEMO_IMAGES = {
    "/media/astronaut-1024.jpg": "face (largest srcset candidate)",
    "/media/people/group-1.jpg": "faces (lfw) on a canvas",
    "/media/people/group-2.png": "faces (lfw) on a canvas",
    "/media/people/group-3.webp": "faces (lfw) on a canvas",
    "/media/people/group-4.jpg": "faces (lfw), lazy-loaded",
    "/media/people/group-5.jpg": "faces (lfw), <picture> largest source",
    "/media/people/group-6.jpg": "faces (lfw), linked with <a href>",
    "/media/people/portrait-1.jpg": "one face (lfw), <base href> relative",
    "/media/people/portrait-2.jpg": "one face (lfw), data-original",
    "/media/people/portrait-3.jpg": "one face (lfw), data-lazy-src",
    "/media/cat.jpg": "pollution: chelsea the cat (og:image)",
    "/media/coffee.jpg": "pollution: coffee",
    "/media/china.jpg": "pollution: landscape (sklearn)",
    "/media/flower.jpg": "pollution: flower (sklearn)",
    "/media/astronaut-small.png": "face, small PNG from page 3",
}
# Present on the site but never to be requested by a polite crawl (robots.txt) or not stored.
DEMO_DISALLOWED = ["/private/index.html", "/private/face.jpg"]
DEMO_NOT_LARGEST = ["/media/astronaut-256.jpg", "/media/astronaut-512.jpg", "/media/people/group-5-small.jpg"]


def _page(title: str, body: str, head: str = "") -> str:
    return (
        f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>{head}"
        f"</head>\n<body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def _save(img, path: Path, **kw) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **kw)


def _face_canvas(faces, seed: int, n: int, size=(480, 320)):
    """Paste `n` upscaled LFW faces onto a textured background: a photo with people in it."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * (0.2 + 0.1 * c) + yy * 0.3 + 40 * c) % 255 for c in range(3)], -1)
    canvas = Image.fromarray((base * 0.5 + rng.integers(0, 60, (h, w, 3))).astype("uint8"))
    side = min(h // 2, w // max(n, 1)) - 10
    for i in range(n):
        face = faces[(seed * 7 + i) % len(faces)]
        tile = Image.fromarray((face * 255).astype("uint8")).resize((side, side), Image.BICUBIC).convert("RGB")
        canvas.paste(tile, (10 + i * (side + 10), int(rng.integers(10, h - side - 10))))
    return canvas


def _archive(root: Path, faces, non_faces, portraits: int, per_page: int = 12) -> str:
    """`archive/page-N.html`: one LFW face per portrait, with some LFW non-faces mixed in as
    pollution, so the demo has enough faces for a first GAN (the core site has about 15)."""
    from PIL import Image

    items = []
    for i in range(portraits):
        items.append(f"face-{i:03d}.jpg")
        portrait = _face_canvas([faces[i % len(faces)]], 100 + i, n=1, size=(200, 240))
        _save(portrait, root / "media" / "archive" / items[-1])
        if i % 5 == 4:  # a non-face patch every fifth image: what a careless crop would let in
            items.append(f"other-{i:03d}.jpg")
            tile = Image.fromarray((non_faces[i % len(non_faces)] * 255).astype("uint8")).resize((200, 240))
            _save(tile.convert("RGB"), root / "media" / "archive" / items[-1])
    pages = [items[k:k + per_page] for k in range(0, len(items), per_page)]
    for n, names in enumerate(pages, start=1):
        imgs = "\n".join(f'<img src="../media/archive/{name}" alt="archive {name}">' for name in names)
        nav = f'<a rel="next" href="page-{n + 1}.html">Next page</a>' if n < len(pages) else ""
        (root / "archive").mkdir(parents=True, exist_ok=True)
        (root / "archive" / f"page-{n}.html").write_text(_page(f"Archive, page {n}", imgs + "\n" + nav))
    # Linked page by page from the home page too, so the archive is within a shallow crawl depth.
    return " ".join(f'<a href="archive/page-{n}.html">{n}</a>' for n in range(1, len(pages) + 1))


def build_demo_site(root: Path | str, portraits: int = 0) -> Path:
    """Write the demo website into `root` (created) and return it.

    `portraits` > 0 adds an archive of that many one-face portraits (the README demo uses it;
    the crawler tests use the core site, whose every image is listed in DEMO_IMAGES)."""
    import numpy as np
    from PIL import Image
    from skimage import data
    from sklearn.datasets import load_sample_images

    root = Path(root)
    media = root / "media"
    faces = data.lfw_subset()
    astronaut = Image.fromarray(data.astronaut())
    for side in (256, 512, 1024):
        _save(astronaut.resize((side, side), Image.BICUBIC), media / f"astronaut-{side}.jpg", quality=88)
    _save(astronaut.resize((160, 160)), media / "astronaut-small.png")
    _save(Image.fromarray(data.chelsea()), media / "cat.jpg", quality=88)
    _save(Image.fromarray(data.coffee()), media / "coffee.jpg", quality=88)
    samples = load_sample_images()
    for name, arr in zip(("china", "flower"), samples.images, strict=True):
        _save(Image.fromarray(np.asarray(arr)), media / f"{name}.jpg", quality=88)
    people = media / "people"
    for i, ext in enumerate(("jpg", "png", "webp", "jpg", "jpg", "jpg"), start=1):
        _save(_face_canvas(faces, i, n=1 + i % 3), people / f"group-{i}.{ext}")
    _save(_face_canvas(faces, 5, n=2).resize((240, 160)), people / "group-5-small.jpg")
    for i in range(1, 4):
        _save(_face_canvas(faces, 20 + i, n=1, size=(200, 240)), people / f"portrait-{i}.jpg")
    _save(_face_canvas(faces, 40, n=2), root / "private" / "face.jpg")
    archive = _archive(root, faces[:100], faces[100:], portraits) if portraits else ""  # lfw_subset: 100 faces, then 100 non-faces

    (root / "robots.txt").write_text(ROBOTS_TXT)
    write = lambda rel, text: (root / rel).parent.mkdir(parents=True, exist_ok=True) or (root / rel).write_text(text)  # noqa: E731
    write("index.html", _page(
        "GAN Studio demo site",
        '<p><a href="gallery/page-1.html">Gallery</a> · <a href="people.html">People</a> · '
        '<a href="about.html">About</a> · <a href="private/index.html">Private</a></p>\n'
        '<img src="media/astronaut-256.jpg" alt="astronaut" width="256" '
        'srcset="media/astronaut-256.jpg 256w, media/astronaut-1024.jpg 1024w, media/astronaut-512.jpg 512w">\n'
        "<!--EXTRA-->" + (f"\n<p>Archive: {archive}</p>" if archive else ""),
    ))
    write("gallery/page-1.html", _page(
        "Gallery, page 1",
        '<img src="../media/people/group-1.jpg" alt="group one">\n'
        '<img src="../media/people/group-2.png" alt="group two">\n'
        '<img src="../media/coffee.jpg" alt="coffee">\n'
        '<a rel="next" href="page-2.html">Next page</a>',
    ))
    write("gallery/page-2.html", _page(
        "Gallery, page 2",
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="../media/people/group-4.jpg" alt="lazy group">\n'
        "<picture>"
        '<source type="image/webp" srcset="../media/people/group-3.webp">'
        '<source srcset="../media/people/group-5-small.jpg 240w, ../media/people/group-5.jpg 480w">'
        '<img src="../media/people/group-5-small.jpg" alt="group five"></picture>\n'
        '<a href="page-1.html">Previous</a> <a rel="next" href="page-3.html">Next page</a>',
    ))
    write("gallery/page-3.html", _page(
        "Gallery, page 3",
        '<a href="../media/people/group-6.jpg">Full-size group photo</a>\n'
        '<img src="../media/china.jpg" alt="china"> <img src="../media/flower.jpg" alt="flower">\n'
        '<img src="../media/astronaut-small.png" alt="astronaut, small">\n'
        '<img src="../media/people/group-3.webp" alt="group three">\n'
        '<a href="page-2.html">Previous</a>',
    ))
    write("people.html", _page(
        "People",
        '<img src="portrait-1.jpg" alt="portrait one">\n'
        '<img src="x.gif" data-original="portrait-2.jpg" alt="portrait two">\n'
        '<img data-lazy-src="portrait-3.jpg" alt="portrait three">\n'
        '<a href="/index.html">Home</a>',
        head='<base href="/media/people/">',
    ))
    write("about.html", _page(
        "About", "<p>A cat lives here.</p>",
        head='<meta property="og:image" content="/media/cat.jpg"><meta property="og:image:alt" content="the cat">',
    ))
    write("private/index.html", _page("Private", '<img src="face.jpg" alt="private face">'))
    return root


if __name__ == "__main__":  # python -m studio.demo.site DIR [PORT]: build and serve until Ctrl-C
    import sys

    target = build_demo_site(sys.argv[1] if len(sys.argv) > 1 else "demo-site")
    with serve(target, port=int(sys.argv[2]) if len(sys.argv) > 2 else 8000) as s:
        print(f"serving {target} at {s.url} (Ctrl-C to stop)")
        with suppress(KeyboardInterrupt):
            threading.Event().wait()
