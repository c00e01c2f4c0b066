"""The `studio` command line, configuration, workspace, pipeline and scheduler."""
