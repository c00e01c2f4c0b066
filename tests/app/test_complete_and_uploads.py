"""Complete page (uploads checked by content, a real completion) and the upload checks."""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image
from skimage import data

from app.uploads import UploadError, read_image, square
from curation.files import UPLOAD_MAX_BYTES
from tests.app.app_helpers import assert_clean, open_page, texts
from tests.fixtures.scan_bomb import progressive_jpeg, scan_bomb


def png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def bomb_png(side: int = 60000) -> bytes:
    """A tiny PNG whose header claims side×side pixels (no pixel data needed to trip the check)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))


def test_read_image_accepts_real_images_and_squares_them():
    im = read_image(png_bytes(data.astronaut()))
    assert im.mode == "RGB" and im.size == (512, 512)
    assert square(read_image(png_bytes(data.chelsea())), 32).size == (32, 32)


@pytest.mark.parametrize(("payload", "message"), [
    (b"GIF89a" + b"\0" * 100, "not a readable image"),
    (b"<html>not an image</html>", "not a readable image"),
    (bomb_png(5000), "5000×5000 pixels; the limit is"),
    (bomb_png(60000), "decompression bomb"),
    (b"\0" * (UPLOAD_MAX_BYTES + 1), "limit is 10 MB"),
    (scan_bomb(2000, 3000), "the JPEG has over 100 scans of 2000×2000 pixels"),
], ids=["gif-header", "html", "too-many-pixels", "bomb", "too-big", "scan-bomb"])
def test_read_image_refuses_bad_uploads(payload, message):
    with pytest.raises(UploadError, match=message):
        read_image(payload)


def test_read_image_takes_a_progressive_jpeg_and_refuses_a_scan_bomb_at_once():
    assert read_image(progressive_jpeg(512, noise=8)).size == (512, 512)  # 10 scans, as encoders write
    t0 = time.monotonic()
    with pytest.raises(UploadError, match="decoding bomb"):
        read_image(scan_bomb(2000, 3000))  # 18 s of decoding (issue 22: 10,000 scans took 141 s)
    assert time.monotonic() - t0 < 1


def test_read_image_refuses_truncated_png():
    with pytest.raises(UploadError):
        read_image(png_bytes(data.astronaut())[:5000])


def test_complete_page_upload_and_run(monkeypatch, trained_ws):
    at = open_page(monkeypatch, trained_ws, "complete.py")
    assert_clean(at)
    at.file_uploader(key="upload").upload("face.png", png_bytes(data.astronaut()[:300, 100:400]),
                                          "image/png").run()
    assert_clean(at)
    assert [c for img in at.image for c in img.captions] == ["Original", "Masked"]
    at.slider[0].set_value(10)  # steps
    at.slider[1].set_value(1)  # restarts
    next(b for b in at.button if b.label == "Complete").click().run(timeout=120)
    assert_clean(at)
    captions = [c for img in at.image for c in img.captions]
    assert captions[:3] == ["Original", "Masked", "Completed"] and captions[3].startswith("Blended")


def test_complete_page_rejects_a_fake_image(monkeypatch, trained_ws):
    at = open_page(monkeypatch, trained_ws, "complete.py")
    at.file_uploader(key="upload").upload("face.png", b"<script>alert(1)</script>", "image/png").run()
    assert not at.exception
    assert "Cannot use this file: not a readable image" in at.error[0].value


def test_complete_page_refuses_a_scan_bomb_at_once(monkeypatch, trained_ws):
    at = open_page(monkeypatch, trained_ws, "complete.py")
    t0 = time.monotonic()
    at.file_uploader(key="upload").upload("face.jpg", scan_bomb(2000, 3000), "image/jpeg").run()
    assert time.monotonic() - t0 < 10  # decoded, it takes 18 s
    assert not at.exception
    assert "Cannot use this file: the JPEG has over 100 scans" in at.error[0].value


def test_generate_directions_edit_the_sample(monkeypatch, trained_ws):
    at = open_page(monkeypatch, trained_ws, "generate.py")
    edited = next(img for img in at.image if "edited" in img.captions)
    before = edited.value
    at.slider(key="pc-0").set_value(2.0).run()
    assert_clean(at)
    after = next(img for img in at.image if "edited" in img.captions).value
    assert after != before
    at.multiselect(key="tagged").set_value([1, 2]).run()
    at.slider(key="label-amount").set_value(1.0).run()
    assert_clean(at)
    assert "Samples with the attribute" in [m.label for m in at.multiselect]
    assert texts(at)
