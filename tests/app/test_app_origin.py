"""The FiftyOne App of `studio label` takes orders only from its own pages (issue 22, item 4)
and serves only the workspace's files (item 5).

A page on another origin sends the right Host, so the DNS-rebinding check lets it through; the
App's `/tag` reads a `text/plain` body (a "simple" request: no CORS preflight) as JSON. Against
the running App: a cross-origin POST is refused and tags nothing, the same POST from the App's
own origin tags; and in headless Chromium a page served on a second local port tries it for
real.
"""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from studio.hostcheck import cross_origin
from tests.app.app_helpers import free_port, wait_http
from tests.helpers import start_studio, stop_group

PROBE = "origin-probe"  # a tag no rule reads (an `accept` tag would become a label)


def test_which_requests_count_as_cross_origin():
    host = "127.0.0.1:5151"
    own = {"origin": "http://127.0.0.1:5151"}
    assert cross_origin(own, host, "POST") is None
    assert cross_origin({}, host, "POST") is None  # no browser: curl, FiftyOne's Python session
    assert cross_origin({"sec-fetch-site": "same-origin"}, host, "DELETE") is None
    assert cross_origin({"referer": "http://127.0.0.1:5151/datasets/x"}, host, "PATCH") is None
    assert cross_origin(own, host, None) is None  # the App's own websocket
    for headers in ({"origin": "http://127.0.0.1:8000"}, {"origin": "null"},
                    {"origin": "http://evil.example"}, {"origin": "https://127.0.0.1:5151"},
                    {"sec-fetch-site": "cross-site"}, {"sec-fetch-site": "same-site"},
                    {"referer": "http://localhost:8000/attack.html"}):
        for method in ("POST", "PUT", "PATCH", "DELETE", None):
            assert cross_origin(headers, host, method), (headers, method)
    # Reads: a navigation from anywhere is fine; another site's <img> or fetch is not.
    assert cross_origin({"sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate"}, host, "GET") is None
    assert cross_origin({"sec-fetch-site": "same-origin", "sec-fetch-mode": "cors"}, host, "GET") is None
    assert cross_origin({"sec-fetch-site": "cross-site", "sec-fetch-mode": "no-cors"}, host, "GET")


@pytest.fixture(scope="module")
def label_app(curated_ws):
    """`studio label` running on the curated workspace: (port, dataset, name of the dataset)."""
    from curation.catalog import dataset_name, open_catalog

    ds = open_catalog(curated_ws)
    port = free_port()
    proc = start_studio("label", "-w", curated_ws, "--port", port, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/fiftyone", timeout=120)
        yield port, ds, dataset_name(curated_ws)
    finally:
        ds.untag_samples(PROBE)
        stop_group(proc)


def _tag(port: int, name: str, headers: dict[str, str]) -> tuple[int, str]:
    """POST /tag as the attack page did: a text/plain body that tags every crop."""
    body = json.dumps({"dataset": name, "changes": {PROBE: True}}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/tag", data=body, method="POST",
                                     headers={"Content-Type": "text/plain", **headers})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _tagged(ds) -> int:
    return ds.count_sample_tags().get(PROBE, 0)


@pytest.mark.server
@pytest.mark.cli
def test_a_cross_origin_post_to_tag_is_refused_and_tags_nothing(label_app):
    port, ds, name = label_app
    other = f"http://127.0.0.1:{free_port()}"
    for headers in ({"Origin": other}, {"Origin": "null"},
                    {"Sec-Fetch-Site": "cross-site"},  # no Origin: the fetch metadata says it
                    {"Referer": f"{other}/attack.html"}):
        status, text = _tag(port, name, headers)
        assert status == 403 and "Cross-origin request refused" in text, (headers, status, text)
        assert _tagged(ds) == 0, headers
    status, text = _tag(port, name, {"Origin": f"http://127.0.0.1:{port}"})  # the App's own page
    assert status == 200, text
    assert _tagged(ds) == len(ds)  # the request is a real one: from the App itself it tags
    ds.untag_samples(PROBE)


ATTACK = """<!doctype html><title>waiting</title><script>
fetch("http://127.0.0.1:%(port)d/tag", {method: "POST", mode: "no-cors",
  headers: {"Content-Type": "text/plain"}, body: JSON.stringify(%(body)s)})
  .then(() => { document.title = "sent"; }, (e) => { document.title = "failed " + e; });
</script>"""


@pytest.mark.browser
@pytest.mark.server
@pytest.mark.cli
def test_a_page_on_another_local_origin_cannot_tag_through_chromium(label_app):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (`make system-deps`)")
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.app.test_browser import CHROMIUM_ARGS

    port, ds, name = label_app
    page_html = (ATTACK % {"port": port, "body": json.dumps(
        {"dataset": name, "changes": {PROBE: True}})}).encode()

    class Attack(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page_html)))
            self.end_headers()
            self.wfile.write(page_html)

        def log_message(self, *args):
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Attack)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{site.server_address[1]}/attack.html")
                deadline = time.monotonic() + 30
                while page.title() == "waiting" and time.monotonic() < deadline:
                    time.sleep(0.1)
                assert page.title() == "sent", page.title()  # the browser did send it
            finally:
                browser.close()
    finally:
        site.shutdown()
    time.sleep(1)  # the App would have tagged before answering; a second more for safety
    assert _tagged(ds) == 0


def _get(port: int, query: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/media?{query}", timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.server
@pytest.mark.cli
def test_media_serves_the_workspace_files_only(label_app, curated_ws):
    from urllib.parse import quote

    port, ds, _ = label_app
    crop = ds.first().filepath
    status, data = _get(port, f"filepath={quote(crop)}")
    assert status == 200 and data == Path(crop).read_bytes()  # the App's own images still show
    link = curated_ws / "faces" / "leak.png"
    link.symlink_to("/etc/passwd")
    try:
        for query in ("filepath=/etc/passwd", f"filepath={quote(str(curated_ws))}/../../../../etc/passwd",
                      f"filepath={quote(str(link))}", "filepath=../../../../../../etc/passwd",
                      f"filepath={quote(crop)}&filepath=/etc/passwd", "filepath=/etc/passwd%00.png"):
            status, data = _get(port, query)
            assert status == 403 and b"root:" not in data, (query, status, data[:80])
    finally:
        link.unlink()
