"""Curation: face detection and cropping, quality, dedup, pollution filters, catalog, export."""
