"""crawler.pace on fake download slots: Crawl-delay floor, latency rule, back-off (no network)."""

from __future__ import annotations

from types import SimpleNamespace

from scrapy.http import Request, Response
from scrapy.utils.test import get_crawler

from crawler.pace import HostPace


def pace(delay=1.0, adapt=True):
    crawler = get_crawler(settings_dict={"DOWNLOAD_DELAY": delay, "STUDIO_AUTOTHROTTLE": adapt,
                                         "USER_AGENT": "studio-test"})
    slot = SimpleNamespace(delay=delay)
    crawler.engine = SimpleNamespace(downloader=SimpleNamespace(slots={"h": slot}))
    ext = HostPace.from_crawler(crawler)
    return ext, slot


def req(url="http://h.test/x", latency=0.01):
    return Request(url, meta={"download_slot": "h", "download_latency": latency})


class Robots:
    def __init__(self, delay):
        self.delay = delay

    def crawl_delay(self, agent):
        return self.delay


def test_crawl_delay_is_the_floor_and_capped():
    ext, slot = pace(delay=1.0)
    ext.robots_parsed(Robots(5), req())
    ext.request_reached_downloader(req(), None)
    assert slot.delay == 5.0
    ext.response_downloaded(Response("http://h.test/x"), req(latency=0.01), None)
    assert slot.delay == 5.0  # a fast answer does not go below Crawl-delay
    ext.robots_parsed(Robots(86400), req())
    assert ext.host_floor("h.test") == 60.0  # a hostile Crawl-delay is capped


def test_latency_raises_the_delay_and_fast_answers_bring_it_back():
    ext, slot = pace(delay=1.0)
    ext.response_downloaded(Response("http://h.test/x"), req(latency=4.0), None)
    assert slot.delay == 4.0
    for _ in range(20):
        ext.response_downloaded(Response("http://h.test/x"), req(latency=0.01), None)
    assert slot.delay == 1.0  # never below download_delay


def test_backoff_on_429_and_retry_after():
    ext, slot = pace(delay=1.0, adapt=False)
    ext.response_downloaded(Response("http://h.test/x", status=503), req(), None)
    assert slot.delay == 2.0
    ext.response_downloaded(Response("http://h.test/x", status=429, headers={"Retry-After": "7"}), req(), None)
    assert slot.delay == 7.0
    for _ in range(10):
        ext.response_downloaded(Response("http://h.test/x"), req(), None)
    assert slot.delay == 1.0
