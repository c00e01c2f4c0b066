"""Spiders of the crawler (one: `images`)."""
