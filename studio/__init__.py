"""The `studio` command line, configuration, workspace, pipeline and scheduler."""

# Before anything loads torch (some commands import it directly): gan's import sets OpenMP's
# passive wait policy, which every child process of the studio then inherits (gan/__init__.py).
import gan  # noqa: F401
