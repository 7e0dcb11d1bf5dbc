"""The two commands of the report: ``connector report`` and ``connector status --check``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from connector import clock
from connector.config import Config
from connector.report import gather, nagios, problems, words_for, write_report

LABELS = ("OK", "WARNING", "CRITICAL")


def _now() -> datetime:
    return clock.now()


def report_now(config: Config, now: datetime | None = None) -> Path:
    from connector.runner import open_state

    conn = open_state(config)
    try:
        return write_report(conn, config, now or _now())
    finally:
        conn.close()


def check_line(config: Config, now: datetime | None = None) -> tuple[int, str]:
    """(exit code, one line) in the Nagios convention: the worst problem, or the last run."""
    from connector.runner import open_state

    now = now or _now()
    conn = open_state(config)
    try:
        facts = gather(conn, config, now)
    finally:
        conn.close()
    words = words_for(facts)
    found = problems(facts, words)
    code = nagios(found)
    if found:
        text = found[0].what + (f" (+{len(found) - 1})" if len(found) > 1 else "")
    elif facts.last_run is not None:
        last = facts.last_run
        text = words.say(
            "all_clear",
            when=last.started_at,
            code=str(last.exit_code),
            meaning=words.exit_meaning(last.exit_code),
        )
    else:
        text = words.say("no_runs")
    text = " ".join(text.split()).replace("|", "/")  # "|" starts performance data
    return code, f"CONNECTOR {LABELS[code]} - {text}"
