"""Image validation on real files: what passes, and every rejection reason."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from PIL import Image

from crawler.validate import Rejected, validate_image
from records import jpeg_scan_limit, jpeg_scans
from tests.fixtures.crawl_site import REJECTED, hostile_files
from tests.fixtures.scan_bomb import progressive_jpeg, scan_bomb

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


def test_a_progressive_jpeg_scan_bomb_is_refused_before_decoding():
    """2,000 scans of 64 Mpx took 130 s (issue 22); here 3,000 of 4 Mpx (18 s to decode)."""
    bomb = FILES["media/extra/scan-bomb.jpg"]
    t0 = time.monotonic()
    with pytest.raises(Rejected, match="too_many_scans: over 100 scans of 2000x2000") as info:
        validate_image(bomb)
    assert time.monotonic() - t0 < 1 and str(info.value).count("\n") == 0
    assert jpeg_scans(bomb, stop_after=10**6) == 3000
    # What encoders write passes: Pillow's progressive script (10 scans), a baseline JPEG (1).
    assert jpeg_scans(FILES["media/extra/progressive.jpg"]) == 10
    assert validate_image(FILES["media/extra/progressive.jpg"]).format == "JPEG"
    assert jpeg_scans(FILES["media/extra/flaky.jpg"]) == 1
    # The limit shrinks with the picture (scans × pixels bounded); exactly at it still passes.
    limit = jpeg_scan_limit(4000 * 4000)
    assert limit == 80 and jpeg_scan_limit(8000 * 8000) == 20 and jpeg_scan_limit(64 * 64) == 100
    assert validate_image(scan_bomb(1000, 100)).width == 1000
    with pytest.raises(Rejected, match="too_many_scans"):
        validate_image(scan_bomb(1000, 101))
    # Scans inside a segment (an EXIF thumbnail is a whole JPEG) are not the picture's.
    thumb = progressive_jpeg(64)
    buf = io.BytesIO()
    Image.open(io.BytesIO(FILES["media/extra/flaky.jpg"])).save(buf, "JPEG", exif=b"Exif\0\0" + thumb * 100)
    assert jpeg_scans(buf.getvalue()) == 1
