"""Reading and writing whole columns of the catalog fast. Vectors are decoded straight from
FiftyOne's storage (zlib-compressed .npy) instead of one `np.load` per sample; writes send only
the values that changed, in one server-side `$merge` from a scratch collection.

Read, 10,000 feature vectors: FiftyOne's `values()` 3.5 s, `read_vectors` ≈0.3 s.

Measured on the 2-core dev machine at 10,000 crops: `set_values` of six fields took 16.7 s
(≈0.25 ms per update and field, growing with the indexes); insert + `$merge` of the same
columns takes well under a second, and a rescore after one label changes few values at all.

This is the one module that reaches FiftyOne's raw MongoDB collection (its private
`_sample_collection`): the rest of the catalog goes through `samples`, and everyone outside the
catalog through the catalog's published queries (`tests/test_import_cycles.py` checks both).
"""

from __future__ import annotations

import secrets
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
from bson import ObjectId

CHUNK = 20_000  # rows per scratch insert: keeps each batch far below MongoDB's 16 MB messages


def samples(dataset):
    """The dataset's samples as a pymongo collection, for the catalog's own indexed queries and
    bulk updates (modules of `curation.catalog` only)."""
    return dataset._sample_collection


def write_columns(dataset, ids: Sequence[str], columns: dict[str, Sequence],
                  old: dict[str, Sequence] | None = None, tolerance: float = 0.0) -> int:
    """Set `columns[field][k]` on the sample `ids[k]`; with `old` (the current values, in the
    same order), only rows where some field changed (floats by more than `tolerance`) are
    written. Returns the number of samples written."""
    rows = []
    now = datetime.now(UTC)
    for k, sample_id in enumerate(ids):
        if old is not None and not any(_changed(old[f][k], columns[f][k], tolerance)
                                       for f in columns):
            continue
        doc = {f: _plain(columns[f][k]) for f in columns}
        doc["_id"] = ObjectId(sample_id)
        doc["last_modified_at"] = now
        rows.append(doc)
    if not rows:
        return 0
    target = samples(dataset)
    scratch = target.database[f"studio.scratch.{secrets.token_hex(6)}"]
    try:
        for start in range(0, len(rows), CHUNK):
            scratch.insert_many(rows[start:start + CHUNK], ordered=False)
        scratch.aggregate([{"$merge": {"into": target.name, "on": "_id",
                                       "whenMatched": "merge", "whenNotMatched": "discard"}}])
    finally:
        scratch.drop()
    refresh_in_memory(dataset, [r["_id"] for r in rows])
    return len(rows)


def _changed(before, after, tolerance: float) -> bool:
    if isinstance(after, float) and isinstance(before, int | float) and before is not None:
        return abs(after - before) > tolerance
    return before != after


def _plain(value):
    """numpy scalars and tuples as BSON takes them."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    return value


def read_vectors(dataset, field: str) -> tuple[list[str], list[np.ndarray | None]]:
    """(sample ids, vectors) of a VectorField in natural order (as `dataset.values` returns)."""
    ids, vectors = [], []
    layout: dict[bytes, tuple[int, np.dtype]] = {}  # .npy header → (data offset, dtype)
    for doc in samples(dataset).find({}, {field: 1}):
        ids.append(str(doc["_id"]))
        stored = doc.get(field)
        vectors.append(None if stored is None else decode_vector(stored, layout))
    return ids, vectors


def decode_vector(stored, layout: dict | None = None) -> np.ndarray:
    """One stored VectorField value as a numpy vector (`layout` caches parsed headers)."""
    layout = {} if layout is None else layout
    if not isinstance(stored, bytes | bytearray):
        return np.asarray(stored, dtype=np.float64)
    raw = zlib.decompress(stored)
    # .npy v1: magic (6) + version (2) + header length (2, little-endian) + header
    header_len = int.from_bytes(raw[8:10], "little")
    header = raw[10:10 + header_len]
    if header not in layout:
        import ast

        meta = ast.literal_eval(header.decode("latin1"))
        if raw[6] != 1 or meta.get("fortran_order") or len(meta.get("shape", ())) != 1:
            from fiftyone.core.utils import deserialize_numpy_array

            return deserialize_numpy_array(stored)
        layout[header] = (10 + header_len, np.dtype(meta["descr"]))
    offset, dtype = layout[header]
    return np.frombuffer(raw, dtype=dtype, offset=offset)


def refresh_in_memory(dataset, ids: list) -> None:
    """Sample objects already loaded (e.g. the App's detail view) see the write, as after
    FiftyOne's own set_values."""
    import fiftyone.core.sample as fos

    fos.Sample._reload_docs(dataset._sample_collection_name, sample_ids=ids)
