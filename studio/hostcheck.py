"""DNS rebinding: the local UIs answer only requests addressed to the loopback address they bind.

A web page on evil.example can make its own name resolve to 127.0.0.1 (DNS rebinding) and then
talk to a server there as "same origin": the browser sends `Host: evil.example`. Both UIs write
labels, promote models and start training, so both refuse any Host but the bound address:

- Streamlit (`studio app`): its own `server.allowedHosts` check on the websocket, which carries
  every action of the app (studio.commands.app passes the flags).
- the FiftyOne App (`studio label`): FiftyOne's Starlette app served here under `HostCheck`, an
  ASGI middleware that answers 403 to HTTP and refuses websockets; `fo.launch_app` then finds
  this server on the port and uses it instead of starting its own.

    python -m studio.hostcheck --address 127.0.0.1 --port 5151     # the FiftyOne App, checked

Cross-site requests: a page on another origin (another local port, a site on the internet)
sends the right Host, so the Host check lets it through; FiftyOne's `/tag` even reads a
`text/plain` body (no CORS preflight) as JSON. `HostCheck` therefore also refuses, with 403,
every request but GET/HEAD/OPTIONS, and every websocket, that a browser marks as coming from
another origin: `Origin` not this App's own, or, without Origin, `Sec-Fetch-Site` other than
same-origin / none, or a `Referer` of another origin. A GET fetched by another site's page
(not a navigation: an <img>, a fetch) is refused the same way. A client that is no browser
(FiftyOne's Python session, curl) sends none of these and is let through: on a shared machine
other users are kept out by the operating system, not by this check (docs/security.md).

Files: FiftyOne's `/media?filepath=…` serves any file the server can read. Here a request that
names a file (a `filepath` parameter, on any path) is answered only when the file, symbolic
links resolved, is inside the workspace (`--media-root`); else 403.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
import urllib.request
from urllib.parse import parse_qsl, urlsplit

LOOPBACK_NAMES = ("127.0.0.1", "localhost")  # names a rebinding page cannot put in Host


def allowed_hosts(address: str) -> tuple[str, ...]:
    """Host names (no port) a request to a server bound on `address` may carry."""
    return tuple(dict.fromkeys((address, *LOOPBACK_NAMES))) if address in LOOPBACK_NAMES else (address,)


def host_allowed(host: str | None, allowed: tuple[str, ...]) -> bool:
    """Whether a Host header (name[:port]) names one of `allowed`; a missing Host is refused."""
    if not host:
        return False
    try:
        parts = urlsplit(f"//{host}")
        name, _ = parts.hostname, parts.port  # .port validates a port given
    except ValueError:
        return False
    if name is None or parts.username is not None or parts.path or parts.query:
        return False
    return name.rstrip(".").lower() in allowed


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def cross_origin(headers: dict[str, str], host: str, method: str | None) -> str | None:
    """Why a browser request comes from another origin's page, or None when it comes from this
    App (`http://HOST`) or from no browser. `method` None: a websocket handshake."""
    own = f"http://{host}".lower()
    origin = headers.get("origin")
    if method in SAFE_METHODS:  # reads: only another site's subresource fetch is refused
        site = headers.get("sec-fetch-site", "same-origin")
        mode = headers.get("sec-fetch-mode", "navigate")
        if site in ("same-origin", "none") or mode == "navigate":
            return None
        return f"Sec-Fetch-Site {site}, Sec-Fetch-Mode {mode}"
    if origin is not None:
        return None if origin.lower().rstrip("/") == own else f"Origin {origin[:100]}"
    site = headers.get("sec-fetch-site")
    if site is not None:
        return None if site in ("same-origin", "none") else f"Sec-Fetch-Site {site[:40]}"
    referer = headers.get("referer")
    if referer:
        try:
            parts = urlsplit(referer)
        except ValueError:
            return "a malformed Referer"
        return None if f"{parts.scheme}://{parts.netloc}".lower() == own else \
            f"Referer {referer[:100]}"
    return None


class HostCheck:
    """ASGI middleware: requests (HTTP and websocket) whose Host is not allowed, or that a
    browser sends from another origin's page (`cross_origin`), never reach `app`."""

    def __init__(self, app, allowed: tuple[str, ...], media_root: str | None = None):
        self.app, self.allowed = app, allowed
        self.media_root = os.path.realpath(media_root) if media_root else None

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host")
        if not host_allowed(host, self.allowed):
            why = b"Host not allowed (this server answers only to its loopback address)\n"
        elif (other := cross_origin(headers, host, scope.get("method"))) is not None:
            text = f"Cross-origin request refused ({other}): only this App's own pages may make it\n"
            why = text.encode("latin-1", "replace")
        elif not files_inside(scope.get("query_string", b""), self.media_root):
            why = b"Only files inside the workspace are served\n"
        else:
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})  # the handshake gets 403
            return
        body = why
        await send({"type": "http.response.start", "status": 403,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def files_inside(query_string: bytes, root: str | None) -> bool:
    """Whether every `filepath` a query names (parsed as Starlette parses it) is a file inside
    `root` once symbolic links are resolved; a query that names none is fine. root None: no
    file is served."""
    paths = [v for k, v in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
             if k == "filepath"]
    if not paths:
        return True
    if root is None:
        return False
    try:
        return all(os.path.commonpath([root, os.path.realpath(p)]) == root for p in paths)
    except ValueError:  # a NUL byte, or a relative path mixed with absolute ones
        return False


def serve_fiftyone(address: str, port: int, media_root: str | None = None) -> None:
    """What fiftyone/server/main.py does, with FiftyOne's app behind HostCheck."""
    os.environ.pop("FIFTYONE_DISABLE_SERVICES", None)
    os.environ["FIFTYONE_SERVER"] = "1"
    import asyncio

    from fiftyone.server.app import app
    from fiftyone.server.events import set_port
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"{address}:{port}"]
    config.accesslog = None
    set_port(port)
    asyncio.run(serve(HostCheck(app, allowed_hosts(address), media_root), config))


def start_fiftyone(address: str, port: int, media_root: str | os.PathLike | None = None,
                   timeout: float = 90) -> subprocess.Popen:
    """The checked FiftyOne App server in a child process (ends with this one), once it answers;
    it serves media files from inside `media_root` only (None: none at all)."""
    media = ("--media-root", os.fspath(media_root)) if media_root is not None else ()
    from curation.children import die_with_parent, python_command, python_env

    parent = os.getpid()
    child = subprocess.Popen(python_command("studio.hostcheck", "--address", address, "--port", port, *media),
                             env=python_env(), preexec_fn=lambda: die_with_parent(parent))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"the FiftyOne App server exited with status {child.returncode}")
        try:
            with urllib.request.urlopen(f"http://{address}:{port}/fiftyone", timeout=2):
                return child
        except OSError:
            time.sleep(0.3)
    child.terminate()
    raise RuntimeError(f"the FiftyOne App server did not answer on {address}:{port} in {timeout:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description="The FiftyOne App, answering only to its own address.")
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5151)
    ap.add_argument("--media-root", help="serve media files from inside this folder only")
    args = ap.parse_args()
    import fiftyone  # noqa: F401  (its loggers exist once imported: then quiet them)

    from studio.notices import quiet_fiftyone

    quiet_fiftyone()
    serve_fiftyone(args.address, args.port, args.media_root)


if __name__ == "__main__":
    main()
