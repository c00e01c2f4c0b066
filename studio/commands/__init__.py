"""One module per `studio` command (or group); `studio.cli` registers them."""
