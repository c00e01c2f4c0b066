"""`studio demo`, offline: the command (`command`), the local demo site it builds (`site`) and
the small web server that serves it and the crawler tests' sites (`server`)."""
