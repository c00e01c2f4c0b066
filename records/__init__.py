"""The ground floor: how every folder above gan/ writes and reads its small on-disk records.

Stdlib only, imports nothing of the studio; crawler, curation, studio and app all build on it.
(gan/ keeps its own twin of the atomic writer: it must run on a machine without the rest.)

    records.atomic   write_atomic (bytes, text, JSON): temp file, fsync, rename; read_json
    records.jsonl    iter_jsonl (torn last line skipped), append_jsonl (one fsynced line)
"""

from records.atomic import read_json, write_atomic, write_atomic_json, write_atomic_text
from records.jsonl import append_jsonl, iter_jsonl

__all__ = [
    "append_jsonl", "iter_jsonl", "read_json", "write_atomic", "write_atomic_json",
    "write_atomic_text",
]
