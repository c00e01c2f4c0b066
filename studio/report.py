"""The pipeline run report: `report.json` (the run's state, complete) and `report.md` (for people),
and posting it to a chat webhook (Slack, Discord or generic JSON, stdlib HTTP via gan.notify).

Both are rendered from the stages' outcomes (studio.outcomes), read back from the recorded state.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from records import read_json, write_atomic_json, write_atomic_text
from studio.outcomes import EvaluateOutcome, Outcome, TrainOutcome, as_json, read_outcome
from studio.workspace import Workspace

HEADLINES = {
    "crawl": "Crawled",
    "curate": "Curated",
    "export": "Exported",
    "train": "Trained",
    "evaluate": "Evaluated",
    "promote": "Decision",
}


def outcome(report: dict[str, Any], stage: str) -> Outcome | dict[str, Any] | None:
    """A stage's recorded result in a state or report, as its dataclass (None: no result)."""
    return read_outcome(stage, (report.get("stages", {}).get(stage) or {}).get("result"))


def decision(state: dict[str, Any]) -> str:
    """One sentence: what the run ended with."""
    stages = state.get("stages", {})
    failed = [n for n, r in stages.items() if r.get("status") == "failed"]
    if failed:
        return f"FAILED at `{failed[0]}`: {stages[failed[0]].get('error')} — the next run resumes there."
    summary = as_json(outcome(state, "promote")).get("summary")
    if summary:
        return summary
    if state.get("status") != "done":
        return "unfinished (interrupted) — the next run resumes it."
    return "done."


def build_report(ws: Workspace, run_dir: Path, state: dict[str, Any]) -> dict[str, Any]:
    return {**state, "workspace": str(ws.root), "run_dir": str(run_dir), "decision": decision(state)}


def render_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Pipeline run {report['run']}",
        "",
        f"**{report['decision']}**",
        "",
        f"- workspace: `{report['workspace']}`",
        f"- started {report.get('started_at')}, finished {report.get('finished_at', '—')}, "
        f"attempt {report.get('attempts', 1)}, status **{report.get('status')}**",
    ]
    for name, record in report.get("stages", {}).items():
        lines += ["", f"## {HEADLINES.get(name, name)} ({name}: {record.get('status')}, "
                      f"{record.get('seconds', 0)} s)", ""]
        if record.get("status") == "failed":
            lines.append(f"Error: {record.get('error')}")
            continue
        result = as_json(read_outcome(name, record.get("result")))
        if result.get("summary"):
            lines += [result["summary"], ""]
        for key, value in result.items():
            if key != "summary":
                lines.append(f"- {key}: {_fmt(value)}")
    return "\n".join(lines).rstrip() + "\n"


def render_chat_text(report: dict[str, Any]) -> str:
    """The report as a chat message: plain lines, no Markdown headings or bold, which Slack's
    incoming webhooks show literally; one line per stage (report.md has the details)."""
    lines = [f"Pipeline run {report['run']}: {report.get('status')}", report["decision"], ""]
    for name, record in report.get("stages", {}).items():
        head = f"{HEADLINES.get(name, name)} ({name}, {record.get('status')}, {record.get('seconds', 0)} s)"
        if record.get("status") == "failed":
            lines.append(f"{head}: error: {record.get('error')}")
            continue
        summary = as_json(read_outcome(name, record.get("result"))).get("summary")
        lines.append(f"{head}: {summary}" if summary else head)
    lines += ["", f"report: {Path(report.get('run_dir') or '.') / 'report.md'}"]
    return "\n".join(lines).rstrip() + "\n"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        if not value:
            return "none"
        return ", ".join(f"{k} {_fmt(v)}" for k, v in value.items())
    if isinstance(value, list):
        if len(value) > 8:
            return ", ".join(_fmt(v) for v in value[:8]) + f", … ({len(value)} in all)"
        return ", ".join(_fmt(v) for v in value) or "none"
    return str(value)


def write_report(ws: Workspace, run_dir: Path, state: dict[str, Any]) -> dict[str, Any]:
    report = build_report(ws, run_dir, state)
    write_atomic_json(run_dir / "report.json", report)
    write_atomic_text(run_dir / "report.md", render_markdown(report))
    return report


def notify_report(url: str, report: dict[str, Any], log: Callable[[str], None] = print,
                  style: str = "auto") -> bool:
    """Post the report as a chat message (gan.notify: Slack text + blocks, Discord content + embed,
    or generic JSON `{"text", "run", "status", "decision", …}`, `text` in plain lines); a dead webhook never
    fails the run."""
    from gan.notify import latest_grid, notify

    ev, trained = outcome(report, "evaluate"), outcome(report, "train")
    new = ev.new if isinstance(ev, EvaluateOutcome) else {}
    fields = {k: new[k] for k in ("swd", "fid", "kid") if isinstance(new.get(k), int | float)}
    steps = trained.steps if isinstance(trained, TrainOutcome) else None
    payload = {
        "event": "pipeline",
        "title": f"Pipeline run {report['run']}: {report.get('status')}",
        "text": render_chat_text(report),  # Slack, Mattermost, Rocket.Chat read `text`
        "fields": {**({"steps": steps} if steps else {}), **fields},
        "image": latest_grid(report["run_dir"]) if report.get("run_dir") else "",
        "run": report["run"],
        "status": report.get("status"),
        "decision": report["decision"],
    }
    ok = notify(url, payload, log=log, style=style)
    if ok:
        log(f"report posted to {url}")
    return ok


def load_report(run_dir: Path) -> dict[str, Any] | None:
    return read_json(run_dir / "report.json")
