"""Errors a user can cause: printed as one line on stderr, exit status 2, no traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class UserError(Exception):
    """Bad input, bad config, a busy workspace: something the user can fix."""


@contextmanager
def user_errors(*exc_types: type[BaseException]) -> Iterator[None]:
    """Turn the given library error types into a `UserError` with the same message.

    The packages below `studio/` (crawler, curation, gan) cannot import `studio`, so each raises
    its own error class; a command wraps its call in this to report them as user errors.
    """
    try:
        yield
    except exc_types as exc:
        raise UserError(str(exc)) from exc
