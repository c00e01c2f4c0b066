"""What the spider hands to the pipeline: one downloaded image response."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ImageItem:
    url: str  # the image URL as found on the page (before any redirect)
    page_url: str  # the page it was found on
    alt: str  # alt text, may be empty
    content_type: str  # Content-Type header as served
    body: bytes  # the bytes as served
