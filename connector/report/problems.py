"""What needs a person now, worst first: the page's headline, the alerts' conditions and
``connector status --check`` all read this one list.

A problem is "active" while its cause lasts (a file still sits in failed/, a product is still
refused, ...), so its end can be told as an "all clear".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from connector.report.facts import INTERNAL_ERROR, Facts
from connector.report.words import Words

Severity = Literal["critical", "warning"]
CONDITIONS = ("run_failed", "no_contact", "files_failed", "refused", "deferred_old")
STOPPING_EXITS = (2, 3, INTERNAL_ERROR)
SHORT = 160  # characters of a file's or Alephee's message quoted in one sentence


@dataclass(frozen=True)
class Problem:
    key: str  # one of CONDITIONS
    severity: Severity
    since: datetime
    what: str
    todo: str


def problems(facts: Facts, words: Words) -> list[Problem]:
    """Active problems, worst first (critical before warning, then in CONDITIONS order)."""
    found = [
        p
        for p in (
            _run_failed(facts, words),
            _no_contact(facts, words),
            _files_failed(facts, words),
            _refused(facts, words),
            _deferred_old(facts, words),
        )
        if p is not None
    ]
    return sorted(found, key=lambda p: p.severity != "critical")


def short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SHORT else text[: SHORT - 1] + "…"


def _run_failed(facts: Facts, words: Words) -> Problem | None:
    last = facts.last_run
    if last is None or last.exit_code not in STOPPING_EXITS:
        return None
    since = last.started_at
    for run in facts.runs:  # newest first: the start of the current streak of failed runs
        if run.exit_code not in STOPPING_EXITS:
            break
        since = run.started_at
    what = words.say(
        "run_failed",
        when=last.started_at,
        code=str(last.exit_code),
        meaning=words.exit_meaning(last.exit_code),
        message=short(last.message),
    )
    return Problem("run_failed", "critical", since, what.strip(), _todo(words, last.exit_code))


def _todo(words: Words, code: int) -> str:
    return words.say(f"run_failed_todo_{code}")


def _no_contact(facts: Facts, words: Words) -> Problem | None:
    limit = timedelta(hours=facts.config.alerts.no_contact_hours)
    contact = facts.last_contact
    if contact is not None:
        if facts.now - contact < limit:
            return None
        what = words.say("no_contact", when=contact)
        return Problem("no_contact", "critical", contact, what, words.say("no_contact_todo"))
    if not facts.runs or facts.now - facts.runs[-1].started_at < limit:
        return None  # a new installation: give it the same grace
    first = facts.runs[-1].started_at
    what = words.say("no_contact_never", when=first)
    return Problem("no_contact", "critical", first, what, words.say("no_contact_todo"))


def _files_failed(facts: Facts, words: Words) -> Problem | None:
    still = [f for f in facts.failed_files if f.still_in_failed]
    if not still:
        return None
    newest, since = still[0], min(f.when for f in still)
    what = words.say(
        "files_failed", n=len(still), when=since, name=newest.name, reason=short(newest.reason)
    )
    todo = short(newest.hint) if newest.hint else words.say("files_failed_todo")
    return Problem("files_failed", "warning", since, what, todo)


def _refused(facts: Facts, words: Words) -> Problem | None:
    if not facts.refusals:
        return None
    first = facts.refusals[0]
    what = words.say(
        "refused", n=facts.refused_total, when=first.at, sku=first.sku, message=short(first.message)
    )
    return Problem("refused", "warning", first.at, what, words.say("refused_todo"))


def _deferred_old(facts: Facts, words: Words) -> Problem | None:
    count, oldest = facts.old_deferred
    if not count or oldest is None:
        return None
    what = words.say("deferred_old", n=count, when=oldest)
    return Problem("deferred_old", "warning", oldest, what, words.say("deferred_old_todo"))


def nagios(found: list[Problem]) -> int:
    """0 OK, 1 WARNING, 2 CRITICAL: the monitoring convention of ``status --check``."""
    if any(p.severity == "critical" for p in found):
        return 2
    return 1 if found else 0
