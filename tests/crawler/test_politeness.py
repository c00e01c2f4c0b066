"""Politeness is the default: this fails when someone makes the defaults less polite."""

from __future__ import annotations

import tomllib
from dataclasses import asdict
from pathlib import Path

from crawler.config import PROJECT_URL, CrawlConfig
from crawler.settings import crawl_settings

TEMPLATE = Path(__file__).resolve().parents[2] / "studio" / "studio.toml"


def test_default_config_is_polite():
    cfg = CrawlConfig()
    assert cfg.obey_robots is True
    assert cfg.autothrottle is True
    assert cfg.download_delay >= 1.0
    assert 1 <= cfg.concurrency_per_domain <= 2
    assert PROJECT_URL in cfg.user_agent
    assert 0 < cfg.max_bytes <= 50_000_000


def test_default_settings_are_polite_and_listen_nowhere(tmp_path):
    s = crawl_settings(CrawlConfig(), tmp_path / "raw", tmp_path / "crawl", tmp_path / "run")
    assert s["ROBOTSTXT_OBEY"] is True and s["STUDIO_AUTOTHROTTLE"] is True
    assert s["DOWNLOAD_DELAY"] >= 1.0 and "crawler.pace.HostPace" in s["EXTENSIONS"]  # Crawl-delay floor
    # Ours, not the stock ones: strict robots.txt (5xx = disallow) and two host lists.
    assert s["DOWNLOADER_MIDDLEWARES"]["crawler.robots.StrictRobotsTxtMiddleware"]
    assert s["DOWNLOADER_MIDDLEWARES"]["scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"] is None
    assert s["CONCURRENT_REQUESTS_PER_DOMAIN"] <= 2
    assert s["USER_AGENT"] == CrawlConfig().user_agent
    assert s["TELNETCONSOLE_ENABLED"] is False and s["REMOTE_CONTROL_ENABLED"] is False
    assert s["EXTENSIONS"]["scrapy.extensions.telnet.TelnetConsole"] is None
    assert s["EXTENSIONS"]["scrapy.extensions.remote_control.RemoteControl"] is None
    assert s["DOWNLOAD_MAXSIZE"] == CrawlConfig().max_bytes


def test_no_listening_extension_is_enabled_by_scrapy(tmp_path):
    """Every default extension that can open a port is switched off in our settings."""
    from scrapy.settings import Settings

    settings = Settings(crawl_settings(CrawlConfig(), tmp_path / "r", tmp_path / "c", tmp_path / "x"))
    enabled = {k for k, v in settings.getwithbase("EXTENSIONS").items() if v is not None}
    assert not any("telnet" in k.lower() or "remote_control" in k.lower() for k in enabled)


def test_template_crawl_section_equals_defaults():
    section = tomllib.loads(TEMPLATE.read_text())["crawl"]
    assert section == asdict(CrawlConfig())
