"""Chat notifications: one message, posted as Slack, Discord or generic JSON (stdlib only, no torch).

A message is a plain dict: `title` (one line), `text` (a few lines), `fields` (name → value: the
key metrics), `image` (path of the sample grid, may be empty) and any other JSON-able keys (event,
run, step, metrics…), which the generic format passes through unchanged. The format comes from
`style` (config or flag), else from a `slack+` / `discord+` / `json+` prefix of the URL, else from
the host (hooks.slack.com, discord.com/api/webhooks), else generic JSON. A dead webhook is one log
line and never stops the caller.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gan.rundir import sample_grids

STYLES = ("auto", "slack", "discord", "json")
DISCORD_FILE_LIMIT = 8 * 2**20  # Discord's attachment limit for webhooks without boosts


def style_of(url: str, style: str = "auto") -> tuple[str, str]:
    """(style, URL without a style prefix) for `url` and a configured `style`."""
    if style not in STYLES:
        raise ValueError(f"notify style must be one of {', '.join(STYLES)}, got {style!r}")
    for s in STYLES[1:]:
        if url.startswith(s + "+"):
            url = url[len(s) + 1:]
            style = s if style == "auto" else style
    if style != "auto":
        return style, url
    host, path = (urlsplit(url).hostname or "").lower(), urlsplit(url).path
    if host == "hooks.slack.com" or host.endswith(".slack.com"):
        return "slack", url
    if host.endswith(("discord.com", "discordapp.com")) and path.startswith("/api/webhooks"):
        return "discord", url
    return "json", url


def _value(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def slack_body(msg: dict[str, Any]) -> dict[str, Any]:
    """Incoming-webhook body: `text` (the notification line) and Block Kit blocks."""
    title, text, fields = msg.get("title", ""), msg.get("text", ""), msg.get("fields") or {}
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": title[:150]}}]
    if text:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
    if fields:  # Slack allows 10 fields per section
        blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{_value(v)}"}
                                                     for k, v in list(fields.items())[:10]]})
    if msg.get("image"):
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"samples: `{msg['image']}`"}]})
    # Keys a caller's scripts read (the pipeline's run, status, decision) ride along: Slack ignores
    # them, a Slack-compatible relay or a test hook gets them.
    extra = {k: msg[k] for k in ("event", "run", "status", "decision") if k in msg}
    return {"text": text or title, "blocks": blocks, **extra}


def discord_body(msg: dict[str, Any], attached: str = "") -> dict[str, Any]:
    """Webhook body: `content` and one embed (fields = metrics; the grid attached when it exists)."""
    fields = msg.get("fields") or {}
    embed: dict[str, Any] = {"title": msg.get("title", "")[:256], "description": msg.get("text", "")[:4096],
                             "color": 0xD9534F if msg.get("event") in ("failed",) else 0x5CB85C,
                             "fields": [{"name": k, "value": _value(v), "inline": True}
                                        for k, v in list(fields.items())[:25]]}
    if msg.get("image"):
        embed["footer"] = {"text": f"samples: {msg['image']}"[:2048]}
    if attached:
        embed["image"] = {"url": f"attachment://{attached}"}
    return {"content": msg.get("title", "")[:2000], "embeds": [embed]}


def json_body(msg: dict[str, Any]) -> dict[str, Any]:
    """The message itself (`text` falls back to the title, for services that show that one key)."""
    return {**msg, "text": msg.get("text") or msg.get("title", "")}


def _multipart(body: dict[str, Any], image: Path) -> tuple[bytes, str]:
    """Discord's form: `payload_json` plus the image as `files[0]`."""
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n"
            f"Content-Type: application/json\r\n\r\n{json.dumps(body)}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"{image.name}\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode()
    return head + image.read_bytes() + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def request_of(url: str, msg: dict[str, Any], style: str = "auto") -> urllib.request.Request:
    """The HTTP request that posts `msg` to `url` in its format."""
    style, url = style_of(url, style)
    image = Path(msg["image"]) if msg.get("image") else None
    if style == "discord" and image and image.is_file() and image.stat().st_size <= DISCORD_FILE_LIMIT:
        data, ctype = _multipart(discord_body(msg, image.name), image)
    else:
        body = {"slack": slack_body, "discord": discord_body, "json": json_body}[style](msg)
        data, ctype = json.dumps(body).encode(), "application/json"
    return urllib.request.Request(url, data=data, headers={"Content-Type": ctype}, method="POST")


def notify(url: str, msg: dict[str, Any], log: Callable[[str], None] = print, timeout: float = 10,
           style: str = "auto") -> bool:
    """Post `msg`; a dead or refusing webhook is logged in one line and returns False."""
    if not url:
        return False
    try:
        req = request_of(url, msg, style)
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return 200 <= resp.status < 300
    except (urllib.error.URLError, OSError, ValueError) as exc:
        log(f"notify {url} failed: {exc}")
        return False


KEY_METRICS = ("swd", "fid", "kid", "memorized_fraction")


def latest_grid(run_dir: Path | str) -> str:
    """The newest fixed-noise sample grid of a run folder ("" when there is none yet)."""
    grids = sample_grids(run_dir)
    return str(grids[-1][1]) if grids else ""


def train_message(event: str, run_dir: Path | str, *, step: int = 0, total: int = 0,
                  metrics: dict[str, Any] | None = None, error: str = "", checkpoint: str = "") -> dict[str, Any]:
    """The message of a training run's end: done, stopped (by a signal) or failed."""
    run = Path(run_dir)
    metrics = {k: v for k, v in (metrics or {}).items() if isinstance(v, int | float) and not isinstance(v, bool)}
    title = {"done": f"Training {run.name} done: {step} steps",
             "stopped": f"Training {run.name} stopped at step {step} of {total}",
             "failed": f"Training {run.name} failed"}.get(event, f"Training {run.name}: {event}")
    lines = [title, f"run folder `{run}`"]
    if error:
        lines.insert(0, f"error: {error}")
    if checkpoint:
        lines.append(f"checkpoint `{checkpoint}`")
    fields = {k: metrics[k] for k in KEY_METRICS if k in metrics}
    if step:
        fields = {"step": step, **fields}
    msg = {"event": event, "run": str(run), "step": step, "title": title, "text": "\n".join(lines),
           "fields": fields, "metrics": metrics, "image": latest_grid(run)}
    if error:
        msg["error"] = error
    return msg
