"""The problems the headline, the alerts and ``status --check`` share: each condition from
state, its "since", and what to do."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from connector.report import gather, problems
from connector.report.facts import Run
from connector.report.words import Words
from connector.runner import open_state
from connector.slots import iso
from tests.report_support import CONFIG, NOON, plain_site, synthetic

WORDS = Words("en-US", CONFIG.schedule.zone)


def run(at_hours: float, code: int, message: str = "") -> Run:
    at = NOON + timedelta(hours=at_hours)
    return Run("once", at, at, code, {}, message)


def test_a_streak_of_stopped_runs_counts_from_its_first_run() -> None:
    facts = replace(
        synthetic("x"),
        runs=[run(3, 5, "boom"), run(2, 3), run(1, 0), run(0, 3)],  # newest first
        failed_files=[],
        refusals=[],
        old_deferred=(0, None),
        last_contact=NOON + timedelta(hours=3),
    )
    [found] = problems(facts, WORDS)
    assert found.key == "run_failed" and found.severity == "critical"
    assert found.since == NOON + timedelta(hours=2)
    assert "ended with exit 5: unexpected internal error (see the log). boom" in found.what
    assert found.todo.startswith("send the log file")


def test_never_reaching_alephee_is_critical_after_the_grace() -> None:
    base = replace(
        synthetic("x"), runs=[run(0, 0)], failed_files=[], refusals=[], old_deferred=(0, None)
    )
    assert problems(replace(base, now=NOON + timedelta(hours=23)), WORDS) == []
    [found] = problems(replace(base, now=NOON + timedelta(hours=25)), WORDS)
    assert found.key == "no_contact" and found.since == NOON
    assert found.what == "The connector has never reached Alephee (runs since 11/23/2026 12:00 PM)."


def test_changes_waiting_too_long_come_from_the_queue(tmp_path: Path) -> None:
    config = plain_site(tmp_path)
    conn = open_state(config)
    try:
        for n, hours in enumerate((60, 50, 1)):
            conn.execute(
                "INSERT INTO queue (sku, grp, due_at, reason, as_of, enqueued_at) "
                "VALUES (?, 'price', ?, 'changed', ?, ?)",
                (f"{n:07d}", iso(NOON), iso(NOON), iso(NOON - timedelta(hours=hours))),
            )
        facts = gather(conn, config, NOON)
    finally:
        conn.close()
    assert facts.old_deferred == (2, NOON - timedelta(hours=60))  # the limit is 48 hours
    [found] = problems(replace(facts, last_contact=NOON), WORDS)
    assert found.key == "deferred_old" and found.severity == "warning"
    assert found.what == "2 change(s) have waited for Alephee since 11/21/2026 12:00 AM."
