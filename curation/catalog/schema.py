"""The catalog's declared schema: the fields of every crop and source sample, and the values
labels and decisions take. `path` is relative to the workspace (the record of where a file is);
`filepath` is its absolute form for FiftyOne and the App, rebased when the workspace moves."""

from __future__ import annotations

LABELS = ("accept", "reject")
DECISIONS = ("accepted", "rejected", "duplicate")
SAVED_VIEWS = ("review queue", "duplicates", "rejected", "accepted")

# Field name → FiftyOne field class name; declared up front so every sample has the same schema
# and the App shows the fields before any value is set.
CROP_FIELDS = {
    "sha256": "StringField", "key": "StringField", "path": "StringField",
    "source_sha256": "StringField",
    "source_url": "StringField", "page_url": "StringField", "domain": "StringField",
    "bbox": "ListField", "crop_box": "ListField", "detector": "StringField",
    "detector_score": "FloatField", "face_px": "IntField", "upscale": "FloatField",
    "blur": "FloatField", "brightness": "FloatField", "contrast": "FloatField",
    "entropy": "FloatField", "colour": "FloatField", "quality": "FloatField",
    "quality_reasons": "ListField", "cat": "BooleanField", "disagree": "BooleanField",
    "occluded": "BooleanField", "human_face": "BooleanField", "photo": "BooleanField",
    "blurred": "BooleanField", "blur_ratio": "FloatField",
    "rule_pollution": "FloatField", "pollution": "FloatField", "pollution_source": "StringField",
    "atypicality": "FloatField", "pollution_cause": "StringField",
    "certainty": "FloatField", "uniqueness": "FloatField",
    "phash": "IntField", "dhash": "IntField", "phash_flip": "IntField", "dhash_flip": "IntField",
    "source_phash": "IntField", "source_phash_flip": "IntField", "source_size": "ListField",
    "embedding": "VectorField", "features": "VectorField",
    "dup_group": "StringField", "dup_kept": "BooleanField", "dup_kept_by": "StringField",
    "human_label": "StringField", "human_reason": "StringField", "labeled_at": "DateTimeField",
    "decision": "StringField", "reasons": "ListField", "added_at": "DateTimeField",
}
SOURCE_FIELDS = {
    "sha256": "StringField", "path": "StringField", "url": "StringField", "page_url": "StringField",
    "domain": "StringField", "status": "StringField", "error": "StringField",
    "faces": "IntField", "small_faces": "IntField", "crops": "IntField",
    "analysis": "IntField",  # curation.process.ANALYSIS of the run that analysed it
}
# What a human (or the App's user) gave a crop: carried over when its source is analysed again.
HUMAN_FIELDS = ("human_label", "human_reason", "labeled_at", "dup_kept_by", "added_at", "tags")


def declare(dataset, fields: dict[str, str]) -> None:
    import fiftyone as fo

    schema = dataset.get_field_schema()
    for name, kind in fields.items():
        if name in schema:
            continue
        if kind == "ListField":
            sub = fo.IntField if name in ("bbox", "crop_box", "source_size") else fo.StringField
            dataset.add_sample_field(name, fo.ListField, subfield=sub)
        else:
            dataset.add_sample_field(name, getattr(fo, kind))
