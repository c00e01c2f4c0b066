"""A local HTTP site in a background thread, with a log of every request: serves the demo site
(`studio.demo.site`) and the crawler tests' sites, whose `routes` script special answers
(redirects, errors, transient failures, headers) per path.
"""

from __future__ import annotations

import hashlib
import mimetypes
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit


@dataclass
class Route:
    """A special answer for one path (tests): status, body or file, headers, transient failures."""

    status: int = 200
    body: bytes | None = None  # else the file at the path (or `file`)
    file: str | None = None  # serve this file (relative to the root) instead
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # e.g. {"Location": "..."} for 3xx
    fail_times: int = 0  # answer `fail_status` this many times first
    fail_status: int = 503


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    status: int
    headers: dict[str, str]


class SiteServer:
    """A running site: `url`, `requests` (what was asked, in order), `routes` (editable)."""

    def __init__(self, root: Path, host: str, port: int, routes: dict[str, Route], delay_s: float):
        self.root = root.resolve()
        self.routes = routes
        self.delay_s = delay_s
        self.requests: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}
        self.httpd = ThreadingHTTPServer((host, port), _handler(self))
        self.httpd.daemon_threads = True
        self.host, self.port = self.httpd.server_address[:2]
        self.url = f"http://{self.host}:{self.port}/"

    def requested(self, path: str) -> list[LoggedRequest]:
        return [r for r in list(self.requests) if r.path == path]

    def paths(self) -> set[str]:
        return {r.path for r in list(self.requests)}

    def _log(self, req: LoggedRequest) -> None:
        with self._lock:
            self.requests.append(req)

    def _take_failure(self, path: str, route: Route) -> bool:
        with self._lock:
            done = self._failures.get(path, 0)
            if done < route.fail_times:
                self._failures[path] = done + 1
                return True
        return False


def _handler(site: SiteServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "DemoSite/1.0"

        def log_message(self, format, *args):  # quiet: requests go to site.requests
            pass

        def do_HEAD(self):
            self._answer(send_body=False)

        def do_GET(self):
            self._answer(send_body=True)

        def _answer(self, send_body: bool) -> None:
            if site.delay_s:
                time.sleep(site.delay_s)
            path = unquote(urlsplit(self.path).path)
            status, headers, body = self._resolve(path)
            etag = headers.get("ETag")
            if status == 200 and etag and etag in self.headers.get("If-None-Match", ""):
                status, body = 304, b""
            site._log(LoggedRequest(self.command, path, status, dict(self.headers.items())))
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body:
                self.wfile.write(body)

        def _resolve(self, path: str) -> tuple[int, dict[str, str], bytes]:
            route = site.routes.get(path)
            if route is not None and site._take_failure(path, route):
                return route.fail_status, {"Content-Type": "text/plain"}, b"try again later\n"
            if route is not None and (route.status != 200 or route.body is not None):
                ctype = route.content_type or "text/plain"
                return route.status, {"Content-Type": ctype, **route.headers}, route.body or b""
            rel = route.file if route is not None and route.file else path
            file = (site.root / rel.lstrip("/")).resolve()
            if file.is_dir():
                file = file / "index.html"
            if not file.is_relative_to(site.root) or not file.is_file():
                return 404, {"Content-Type": "text/html"}, b"<html><body>not found</body></html>\n"
            body = file.read_bytes()
            ctype = (route and route.content_type) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            headers = {
                "Content-Type": ctype,
                "ETag": '"' + hashlib.sha1(body).hexdigest()[:20] + '"',
                "Last-Modified": formatdate(file.stat().st_mtime, usegmt=True),
                **(route.headers if route else {}),
            }
            return 200, headers, body

    return Handler


@contextmanager
def serve(
    root: Path | str,
    host: str = "127.0.0.1",
    port: int = 0,
    routes: dict[str, Route] | None = None,
    delay_s: float = 0.0,
) -> Iterator[SiteServer]:
    """Serve `root` over HTTP in a background thread (port 0 = any free port) while in the block."""
    site = SiteServer(Path(root), host, port, dict(routes or {}), delay_s)
    thread = threading.Thread(target=site.httpd.serve_forever, name=f"site-{site.port}", daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.httpd.shutdown()
        site.httpd.server_close()
        thread.join(timeout=5)
