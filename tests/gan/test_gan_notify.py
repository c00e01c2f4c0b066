"""Chat notifications: Slack, Discord and generic JSON bodies, each posted to a local server."""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gan.notify import notify, style_of, train_message
from gan.train import train
from tests.gan.gan_helpers import tiny


class Hook:
    """An HTTP server on 127.0.0.1 that keeps (path, content type, raw body) of every POST."""

    def __init__(self, status: int = 200):
        self.posts: list[tuple[str, str, bytes]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.posts.append((self.path, self.headers["Content-Type"], body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def json(self, i: int = 0) -> dict:
        _, ctype, body = self.posts[i]
        assert ctype == "application/json", ctype
        return json.loads(body)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.close()


@pytest.fixture(scope="module")
def finished_run(image_dir, tmp_path_factory):
    """A real tiny run (a sample grid, an SWD) whose end messages the tests post."""
    return train(tiny(steps=2), image_dir, tmp_path_factory.mktemp("notify") / "run", log=lambda m: None)


def done_message(run) -> dict:
    return train_message("done", run.run_dir, step=run.step, total=run.step, metrics=run.metrics,
                         checkpoint=str(run.checkpoint))


def test_the_format_comes_from_the_style_the_prefix_or_the_host():
    assert style_of("https://hooks.slack.com/services/T/B/X") == ("slack", "https://hooks.slack.com/services/T/B/X")
    assert style_of("https://discord.com/api/webhooks/1/abc")[0] == "discord"
    assert style_of("https://discordapp.com/api/webhooks/1/abc")[0] == "discord"
    assert style_of("https://example.org/hook") == ("json", "https://example.org/hook")
    assert style_of("discord+http://127.0.0.1:9/x") == ("discord", "http://127.0.0.1:9/x")
    assert style_of("https://hooks.slack.com/services/x", "json")[0] == "json"  # config wins over the host
    with pytest.raises(ValueError, match="notify style"):
        style_of("http://x", "teams")


def test_slack_gets_text_and_blocks_with_metrics_and_the_grid(hook, finished_run):
    assert notify("slack+" + hook.url, done_message(finished_run), log=pytest.fail)
    path, _, _ = hook.posts[0]
    body = hook.json()
    assert path == "/hook" and "done: 2 steps" in body["text"]
    kinds = [b["type"] for b in body["blocks"]]
    assert kinds == ["header", "section", "section", "context"]
    assert body["blocks"][0]["text"]["text"].startswith(f"Training {finished_run.run_dir.name} done")
    fields = {f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in body["blocks"][2]["fields"]}
    assert fields["*step*"] == "2" and float(fields["*swd*"]) == pytest.approx(finished_run.metrics["swd"], rel=1e-3)
    grid = body["blocks"][3]["elements"][0]["text"]
    assert "samples/step-0000002.png" in grid


def test_discord_gets_content_an_embed_and_the_grid_attached(hook, finished_run):
    assert notify(hook.url, done_message(finished_run), log=pytest.fail, style="discord")
    _, ctype, body = hook.posts[0]
    assert ctype.startswith("multipart/form-data; boundary=")
    form = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {ctype}\r\n\r\n".encode() + body)
    parts = {p.get_param("name", header="content-disposition"): p for p in form.iter_parts()}
    payload = json.loads(parts["payload_json"].get_content())
    assert payload["content"].startswith(f"Training {finished_run.run_dir.name} done")
    (embed,) = payload["embeds"]
    names = {f["name"]: f["value"] for f in embed["fields"]}
    assert names["step"] == "2" and "swd" in names and "memorized_fraction" in names
    assert embed["image"] == {"url": "attachment://step-0000002.png"}
    png = parts["files[0]"].get_content()
    assert png == (finished_run.run_dir / "samples" / "step-0000002.png").read_bytes()


def test_discord_without_an_image_is_plain_json(hook, tmp_path):
    msg = train_message("failed", tmp_path / "run", error="CUDA out of memory")
    assert notify("discord+" + hook.url, msg, log=pytest.fail)
    body = hook.json()
    assert body["content"] == "Training run failed" and "CUDA out of memory" in body["embeds"][0]["description"]
    assert body["embeds"][0]["color"] == 0xD9534F


def test_generic_json_passes_the_message_through(hook, finished_run):
    assert notify(hook.url, done_message(finished_run), log=pytest.fail)
    body = hook.json()
    assert body["event"] == "done" and body["step"] == 2 and body["run"] == str(finished_run.run_dir)
    assert body["metrics"]["swd"] == pytest.approx(finished_run.metrics["swd"])
    assert body["image"].endswith("samples/step-0000002.png") and body["text"].startswith("Training")


def test_training_posts_done_and_failed_in_the_chosen_format(hook, image_dir, tmp_path):
    train(tiny(steps=2), image_dir, tmp_path / "run", notify_url=hook.url, notify_style="slack", log=lambda m: None)
    with pytest.raises(Exception, match="already holds a run"):
        train(tiny(steps=2), image_dir, tmp_path / "run", notify_url=hook.url, notify_style="slack",
              log=lambda m: None)
    done, failed = hook.json(0), hook.json(1)
    assert done["blocks"][0]["text"]["text"] == "Training run done: 2 steps"
    assert failed["blocks"][0]["text"]["text"] == "Training run failed" and "already holds a run" in failed["text"]


def test_a_refusing_webhook_is_one_log_line(tmp_path):
    refusing = Hook(status=500)
    try:
        logged: list[str] = []
        assert not notify("slack+" + refusing.url, train_message("done", tmp_path), log=logged.append)
        assert len(logged) == 1 and "failed" in logged[0] and "500" in logged[0]
    finally:
        refusing.close()
