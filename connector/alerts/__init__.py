"""Alerts by mail and webhook when something needs a person, and the after-run hook (issue 15).

May import: everything below it, ``connector.report`` included; only the CLI imports it
(ground < stages < dryrun < runner < operator < report < alerts < cli). It reads the problems
the report package finds in the state database, remembers what it told in its own table, and
delivers through smtplib and httpx. The runner does not import it: cli passes ``after_pass``
as ``Options.after_pass``, and the runner calls it once after each recorded pass (``once``
and every pass of ``run``). The hook writes the report, then evaluates the alerts; whatever
goes wrong in it is logged and never changes the run's exit code.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from connector.alerts import state
from connector.alerts.message import Message, compose
from connector.alerts.rules import Decision, Remembered, decide
from connector.config import Config
from connector.report import gather, problems, words_for, write_report

__all__ = ["Decision", "Message", "Remembered", "after_pass", "decide", "evaluate"]

log = logging.getLogger(__name__)


def evaluate(
    conn: sqlite3.Connection, config: Config, now: datetime, report: Path | None = None
) -> Decision | None:
    """Find the problems, decide what to tell, tell it, remember it. None: alerts are off."""
    settings = config.alerts
    if not settings.enabled:
        return None
    state.init(conn)
    facts = gather(conn, config, now)
    words = words_for(facts)
    found = problems(facts, words)
    decision = decide(state.load(conn), found, now, timedelta(hours=settings.repeat_hours))
    if decision.anything:
        from connector.alerts.delivery import deliver  # smtplib, ssl, email: only to send

        message = compose(decision.alerts, decision.cleared, words, report)
        if not deliver(settings, message, report):
            log.warning("no alert channel took the message; it is tried again with the next run")
            return decision  # nothing remembered: the next run decides again
    state.save(conn, decision.state)
    return decision


def after_pass(config: Config, conn: sqlite3.Connection, now: datetime) -> None:
    """The report and the alerts after a pass; never raises (a run must not fail for them)."""
    report: Path | None = None
    try:
        if config.report.enabled:
            report = write_report(conn, config, now)
    except Exception:  # any failure of the page must not fail the run
        log.exception("the report could not be written to %s", config.report_path)
    try:
        evaluate(conn, config, now, report)
    except Exception:  # a failure to alert is logged, never fails the run
        log.exception("the alerts could not be evaluated")
