"""One alert message: what happened, since when, what to do, and where the report is; as
plain text for mail and as JSON for a webhook (``text`` for Teams and Slack, fields for
anything that reads more)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connector.redact import redact
from connector.report.problems import Problem
from connector.report.words import Words
from connector.slots import iso


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    payload: dict[str, Any]


def compose(
    alerts: list[Problem], cleared: list[str], words: Words, report: Path | None
) -> Message:
    host = socket.gethostname()
    items: list[dict[str, Any]] = []
    lines: list[str] = []
    for problem in alerts:
        since = words.say("since", when=problem.since)
        todo = words.say("todo", text=problem.todo)
        lines += [f"[{problem.severity.upper()}] {problem.what}", f"  ({since})", f"  {todo}", ""]
        items.append(
            {
                "condition": problem.key,
                "state": "problem",
                "severity": problem.severity,
                "since": iso(problem.since),
                "what": problem.what,
                "todo": problem.todo,
            }
        )
    for key in cleared:
        text = words.say("resolved", what=words.say(f"resolved_{key}"))
        lines += [text, ""]
        items.append({"condition": key, "state": "resolved", "what": text})
    if report is not None:
        lines.append(words.say("alert_report", path=str(report)))
    lines.append(f"({host})")
    headline = (
        alerts[0].what
        if alerts
        else words.say("resolved", what=words.say(f"resolved_{cleared[0]}"))
    )
    subject = redact(words.say("alert_subject", what=_one_line(headline)))
    text = redact("\n".join(lines))
    payload = {
        "title": subject,
        "summary": subject,
        "text": text,
        "host": host,
        "report": str(report) if report else None,
        "alerts": items,
    }
    return Message(subject, text, payload)


def _one_line(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
