"""The ground floor: how every folder above gan/ writes and reads its small on-disk records.

Stdlib only, imports nothing of the studio; crawler, curation, studio and app all build on it.
(gan/ keeps its own twin of the atomic writer: it must run on a machine without the rest.)

    records.atomic   write_atomic (bytes, text, JSON): temp file, fsync, rename; read_json
    records.jsonl    iter_jsonl (torn last line skipped), append_jsonl (one fsynced line)
    records.jpeg     jpeg_scans, jpeg_scan_limit: the scan-count guard of both image decoders
                     (crawler.validate, curation.files), counted before any pixel is decoded
"""

from records.atomic import read_json, write_atomic, write_atomic_json, write_atomic_text
from records.jpeg import jpeg_scan_limit, jpeg_scans
from records.jsonl import append_jsonl, iter_jsonl

__all__ = [
    "append_jsonl", "iter_jsonl", "jpeg_scan_limit", "jpeg_scans", "read_json", "write_atomic",
    "write_atomic_json", "write_atomic_text",
]
