"""The crawler's own error class for problems a user can fix (bad URL, bad settings)."""


class CrawlError(Exception):
    """A crawl cannot start or continue because of its input; the message is one line."""

    user_facing = True  # its message is for the user: no traceback in reports
