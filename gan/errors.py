"""The error class of gan/: user-caused problems (bad data folder, busy run dir, bad checkpoint)."""


class GanError(Exception):
    """Something the user can fix; `studio` prints it as one line."""

    user_facing = True  # its message is for the user: no traceback in reports
