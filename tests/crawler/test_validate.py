"""Image validation on real files: what passes, and every rejection reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.validate import Rejected, validate_image
from tests.fixtures.crawl_site import REJECTED, hostile_files

pytestmark = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")

FILES = hostile_files()
FILES["media/extra/fake.jpg"] = FILES["media/extra/fake.html"]  # served as image/jpeg


@pytest.mark.parametrize(("path", "reason"), sorted(REJECTED.items()))
def test_rejections(path, reason):
    with pytest.raises(Rejected) as info:
        validate_image(FILES[path.lstrip("/")])
    assert info.value.reason == reason


def test_valid_image():
    info = validate_image(FILES["media/extra/flaky.jpg"])
    assert (info.format, info.ext, info.width, info.height) == ("JPEG", "jpg", 200, 200)


def test_minimum_side_is_configurable():
    data = FILES["media/extra/flaky.jpg"]
    with pytest.raises(Rejected, match="too_small"):
        validate_image(data, min_side=201)


def test_bomb_limit_cannot_be_switched_off(monkeypatch):
    from PIL import Image

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with pytest.raises(Rejected, match="decompression_bomb"):
        validate_image(FILES["media/extra/bomb.png"])


def test_empty_and_unsupported():
    import io

    from PIL import Image

    with pytest.raises(Rejected, match="empty"):
        validate_image(b"")
    buf = io.BytesIO()
    Image.new("RGB", (100, 100)).save(buf, "BMP")
    with pytest.raises(Rejected, match="unsupported_format"):
        validate_image(buf.getvalue())


def test_pixel_limit_is_curates():
    """The crawl keeps nothing curate would refuse (curation/files.py MAX_PIXELS)."""
    import io
    import re

    from PIL import Image

    from crawler.validate import MAX_PIXELS

    curate_src = (Path(__file__).resolve().parents[2] / "curation" / "files.py").read_text()
    assert int(re.search(r"^MAX_PIXELS = ([\d_]+)", curate_src, re.M).group(1).replace("_", "")) == MAX_PIXELS
    for side, ok in ((8000, True), (8001, False)):  # 64,000,000 px exactly passes, one row more fails
        buf = io.BytesIO()
        Image.new("1", (8000, side)).save(buf, "PNG")
        if ok:
            assert validate_image(buf.getvalue()).height == side
        else:
            with pytest.raises(Rejected, match="too_many_pixels"):
                validate_image(buf.getvalue())
