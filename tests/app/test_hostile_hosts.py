"""DNS rebinding (issue 12): both UIs refuse a forged Host, against the real running servers.

A rebinding page on evil.example reaches 127.0.0.1 with `Host: evil.example` (and a matching
Origin). Streamlit's websocket carries every action of `studio app`; the FiftyOne App's
`/graphql` carries every label of `studio label`.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time

import pytest

from studio.hostcheck import host_allowed
from tests.app.app_helpers import free_port, running_app, wait_http
from tests.helpers import stop_group

EVIL = "evil.example"


def _request(port: int, head: str, body: bytes = b"") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(head.encode() + body)
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n", 1)[0]  # the status line


def _ws_handshake(port: int, path: str, host: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return _request(port, f"GET {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\n"
                          f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                          "Sec-WebSocket-Version: 13\r\n\r\n")


def _post(port: int, path: str, host: str, body: bytes) -> bytes:
    return _request(port, f"POST {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\n"
                          f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                          "Connection: close\r\n\r\n", body)


def test_host_names_accepted():
    allowed = ("127.0.0.1", "localhost")
    assert host_allowed("127.0.0.1:5151", allowed) and host_allowed("LOCALHOST.", allowed)
    for host in (None, "", "evil.example", "evil.example:5151", "127.0.0.1.evil.example",
                 "127.0.0.1@evil.example", "127.0.0.1:notaport", "[::1]:5151"):
        assert not host_allowed(host, allowed), host


@pytest.mark.server
@pytest.mark.cli
def test_streamlit_refuses_a_websocket_for_a_forged_host(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "studio.toml").write_text("")
    port = free_port()
    with running_app(ws, port):
        assert wait_http(f"http://127.0.0.1:{port}/_stcore/health", timeout=90) == "ok"
        assert b" 101 " in _ws_handshake(port, "/_stcore/stream", f"127.0.0.1:{port}")
        assert b" 101 " in _ws_handshake(port, "/_stcore/stream", f"localhost:{port}")
        forged = _ws_handshake(port, "/_stcore/stream", f"{EVIL}:{port}")
        assert forged.startswith(b"HTTP/1.1 4"), forged  # refused before any session exists


@pytest.mark.server
@pytest.mark.cli
def test_fiftyone_app_refuses_graphql_for_a_forged_host(fiftyone_db, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "studio.toml").write_text("")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "studio", "label", "-w", str(ws), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/fiftyone", timeout=120)
        query = b'{"query": "{ __typename }"}'
        deadline = time.monotonic() + 30
        while b" 200 " not in (ok := _post(port, "/graphql", f"127.0.0.1:{port}", query)):
            assert time.monotonic() < deadline, ok
            time.sleep(0.5)
        forged = _post(port, "/graphql", f"{EVIL}:{port}", query)
        assert b" 403 " in forged, forged
        assert b" 403 " in _ws_handshake(port, "/events", EVIL) or \
            _ws_handshake(port, "/events", EVIL).startswith(b"HTTP/1.1 4")
    finally:
        stop_group(proc)
