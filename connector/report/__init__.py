"""The run report: one HTML page a person opens in a browser (issue 15).

May import: everything below it (ground < stages < dryrun < runner < operator < report);
only ``connector.alerts`` and the CLI import it. It only reads state
the stages wrote (runlog, the intake ledger, the queue, refusals, the orders ledger) and writes
one file; the runner does not know it: cli hands the runner a hook
(``Options.after_pass``) that writes the page and evaluates the alerts after every pass.

``write_report`` builds the page from the state database and replaces the file atomically.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from connector.config import Config
from connector.fsutil import replace_file
from connector.report.facts import Facts, gather
from connector.report.page import render, words_for
from connector.report.problems import Problem, nagios, problems

__all__ = [
    "Facts",
    "Problem",
    "gather",
    "nagios",
    "problems",
    "render",
    "words_for",
    "write_report",
]


def write_report(
    conn: sqlite3.Connection, config: Config, now: datetime, facts: Facts | None = None
) -> Path:
    facts = facts or gather(conn, config, now)
    return replace_file(config.report_path, render(facts).encode("utf-8"))
