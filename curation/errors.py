"""The error class of the curation package: something the user can fix (one line, no traceback)."""

from __future__ import annotations


class CurationError(Exception):
    """Bad input or setup for curation: a missing cascade, a busy catalog, a bad labels file."""

    user_facing = True  # its message is for the user: no traceback in reports
