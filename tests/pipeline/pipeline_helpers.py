"""Helpers of the pipeline tests: a workspace with tiny crawl/curate/train settings, a webhook."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.helpers import studio as studio  # the pipeline tests' `studio`, re-exported

# Small enough for 2 CPU cores, big enough that 60 steps beat 1 step on SWD.
TINY = {
    "crawl": {"download_delay": 0.0, "autothrottle": False, "max_pages": 50},
    "curate": {"detector": '"human"', "workers": 1},
    "train": {"resolution": 32, "batch": 8, "g_width": 8, "d_width": 8, "log_every": 10,
              "sample_every": 1000, "ckpt_every": 1000, "metric_every": 0, "metric_images": 32},
    "pipeline": {"min_new_accepted": 1, "steps": 60, "tolerance": 0.02, "eval_images": 32},
}


def make_workspace(root: Path, url: str, **sections: dict) -> Path:
    """`studio init`, then the TINY settings (and `sections`) written into its studio.toml."""
    r = studio("init", "--workspace", str(root), "--url", url)
    assert r.returncode == 0, r.stderr
    set_keys(root / "studio.toml", **{k: {**v, **sections.get(k, {})} for k, v in TINY.items()})
    return root


def set_keys(path: Path, **sections: dict) -> None:
    """Set `key = value` lines in the sections of a studio.toml (added when not there yet)."""
    text = path.read_text()
    for section, values in sections.items():
        for key, value in values.items():
            value = "true" if value is True else "false" if value is False else value
            lines = text.split("\n")
            start = lines.index(f"[{section}]")
            for i in range(start + 1, len(lines)):
                if lines[i].startswith(f"{key} ="):
                    lines[i] = f"{key} = {value}"
                    break
                if lines[i].startswith("["):  # not in the template: add it
                    lines.insert(start + 1, f"{key} = {value}")
                    break
            else:
                lines.insert(start + 1, f"{key} = {value}")
            text = "\n".join(lines)
    path.write_text(text)


class Webhook:
    """A Slack-compatible webhook on 127.0.0.1 that keeps every JSON body posted to it."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.posts.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
