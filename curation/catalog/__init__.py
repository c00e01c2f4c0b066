"""The workspace's FiftyOne catalog (the catalog of record for crops and labels).

A thin façade: `connect` opens the right database and dataset, `server`/`supervisor` run the
workspace's own mongod, `identity` names the dataset and follows moves, `schema` declares the
fields, `info` is the catalog's own typed record (`dataset.info`), `labels` writes human labels,
`queries` answers the pages and commands, `columns` reads and writes whole columns (and alone
touches FiftyOne's raw collection).

The catalog is a floor: it never imports `curation.decide`, `scoring`, `rules`, `evidence` or
`rescoring`. What follows a label (the filter's rescoring, the decisions) is `curation.rescoring`.
"""

from curation.catalog.connect import (
    catalog_exists,
    database_configured,
    external_uri,
    open_catalog,
    open_sources,
)
from curation.catalog.identity import dataset_name, workspace_id
from curation.catalog.info import CatalogInfo, update_info
from curation.catalog.labels import (
    human_labels,
    labelled_count,
    labels_missing,
    labels_since,
    set_label,
    set_labels,
    sync_app_tags,
)
from curation.catalog.queries import (
    CropFilters,
    accepted_by,
    accepted_shas,
    count_by,
    domain_of,
    duplicate_groups,
    duplicate_links,
    ensure_saved_views,
    filepaths,
    filter_crops,
    funnel,
    label_of,
    rejected_crops,
    rejection_groups,
    review_queue,
    set_kept,
)
from curation.catalog.schema import CROP_FIELDS, DECISIONS, LABELS, SAVED_VIEWS, SOURCE_FIELDS

__all__ = [
    "CROP_FIELDS", "DECISIONS", "LABELS", "SAVED_VIEWS", "SOURCE_FIELDS", "CatalogInfo", "CropFilters",
    "accepted_by", "accepted_shas", "catalog_exists",
    "count_by",
    "database_configured", "dataset_name", "domain_of", "duplicate_groups", "duplicate_links", "ensure_saved_views",
    "external_uri", "filepaths", "filter_crops", "funnel", "human_labels", "label_of", "labelled_count", "labels_missing", "labels_since",
    "open_catalog",
    "open_sources", "rejected_crops", "rejection_groups", "review_queue",
    "set_kept", "set_label", "set_labels", "sync_app_tags", "update_info", "workspace_id",
]
