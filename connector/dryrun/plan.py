"""The dry run (``connector once --dry-run``): the real pass, rehearsed.

``rehearse`` wraps one pass of the runner: the state database in a transaction that is always
rolled back, files published into a scratch folder while moves and removals are only recorded
(``connector.fsutil.rehearsal``), and every log line marked "dry run:". The runner gives that
pass a ``RecordingClient``, so nothing reaches Alephee but reads. The pass itself is the same
code as a real run's, so a dry run cannot drift from what a real run does.

``Plan`` watches the pass (the runner calls it at each file and before sending) and then says
what would happen: a line per file in the spirit of csv-diff, what would be sent now and what
waits for its slot, what the order cycles would write, and the list of every queued change in
``outbox/dry-run-<time>.csv``.
"""

from __future__ import annotations

import logging
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from connector.config import Config
from connector.db import rolled_back
from connector.dryrun.recorder import RecordingClient, Write
from connector.dryrun.report import (
    GROUPS,
    Row,
    Sending,
    describe_back,
    describe_orders,
    describe_sending,
    local_time,
    sending,
    write_plan,
)
from connector.fsutil import rehearsal
from connector.runlog import RunSummary

BEFORE = "temp.dry_run_before"


@dataclass
class Plan:
    """What a dry run found. ``lines`` is the human summary, in order; idle in a real run."""

    active: bool = False
    lines: list[str] = field(default_factory=list)
    queue: list[Row] = field(default_factory=list)  # the queue as the send step found it
    writes: list[Write] = field(default_factory=list)  # what would have been sent
    effects: list[str] = field(default_factory=list)  # what would have happened to files
    cycles_ran: bool = False
    sending: Sending | None = None
    report: Path | None = None

    def __iter__(self) -> Iterator[str]:
        return iter(self.lines)

    # -- watching the pass (no-ops in a real run) --------------------------------------------

    def file_started(self, conn: sqlite3.Connection) -> None:
        if self.active:
            conn.execute(f"DROP TABLE IF EXISTS {BEFORE}")
            conn.execute(f"CREATE TEMP TABLE {BEFORE.split('.')[1]} AS SELECT * FROM queue")

    def file_done(
        self,
        name: str,
        status: str,
        detail: str,
        counts: dict[str, int],
        *,
        conn: sqlite3.Connection,
        config: Config,
        now: datetime,
    ) -> None:
        if not self.active or status == "skipped":
            return
        if status == "duplicate":
            line = "same content as a file already processed: would be archived as a duplicate"
            self.lines.append(f"{name}: {line}, nothing sent")
        elif status == "failed":
            self.lines.append(f"{name}: would go to failed/: {detail.removeprefix(name + ': ')}")
        elif "status_queued" in counts:
            self.lines.append(f"{name}: " + describe_status_file(counts))
        else:
            rows = conn.execute(f"SELECT * FROM queue EXCEPT SELECT * FROM {BEFORE}")
            touched = [dict(r) for r in rows.fetchall()]
            self.lines.append(f"{name}: " + describe_file(counts, touched, config, now))

    def before_send(self, conn: sqlite3.Connection) -> None:
        if self.active:
            rows = conn.execute("SELECT * FROM queue ORDER BY due_at, sku, grp")
            self.queue = [dict(r) for r in rows.fetchall()]

    def cycles(self, ran: bool) -> None:
        self.cycles_ran = self.cycles_ran or ran

    # -- after the pass --------------------------------------------------------------------

    def conclude(self, config: Config, summary: RunSummary, now: datetime, *, orders: bool) -> None:
        """Say what would be sent and written; list the queued changes in the outbox."""
        from connector.products.pending import Window  # pandas: only for a dry run

        self.sending = sending(self.queue, self.writes, Window.at(now, config.schedule))
        self.lines.extend(describe_sending(self.sending, config, now))
        self.lines.extend(describe_back(self.writes))
        if self.queue:
            self.report = write_plan(config, self.queue, now)
            self.lines.append(f"The list is in {self.report}")
        if orders:
            self.lines.append(describe_orders(summary, due=self.cycles_ran))


@contextmanager
def rehearse(conn: sqlite3.Connection, plan: Plan, client: RecordingClient) -> Iterator[None]:
    """Run the body as a pass whose every effect is recorded or rolled back."""
    plan.active = True
    with (
        tempfile.TemporaryDirectory(prefix="connector-dry-run-") as scratch,
        rehearsal(Path(scratch)) as rehearsed,
        _marked_logs(),
    ):
        try:
            with rolled_back(conn):
                yield
        finally:
            plan.effects = rehearsed.effects
            plan.writes = client.writes


class _DryRunMark(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "dry_run_marked", False):
            record.msg = f"dry run: {record.msg}"
            record.dry_run_marked = True
        return True


@contextmanager
def _marked_logs() -> Iterator[None]:
    """Every log line of the rehearsal says it is one: nothing in it was really sent."""
    mark = _DryRunMark()
    handlers = logging.getLogger().handlers
    for handler in handlers:
        handler.addFilter(mark)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(mark)


def describe_status_file(counts: dict[str, int]) -> str:
    return (
        f"{counts.get('rows', 0):,} rows: {counts.get('status_queued', 0):,} status changes, "
        f"{counts.get('status_unchanged', 0):,} unchanged, "
        f"{counts.get('rejected', 0):,} rejected rows"
    )


def describe_file(counts: dict[str, int], touched: list[Row], config: Config, now: datetime) -> str:
    """One line in the spirit of csv-diff: '1,204 rows: 37 stock changes, 12 price ... 00:00'."""
    from connector.products.pending import Window  # pandas: only for a dry run

    window = Window.at(now, config.schedule)
    parts = []
    for group in GROUPS:
        rows = [r for r in touched if r["grp"] == group]
        soon = sum(1 for r in rows if window.is_ready(r))
        later = [window.goes_at(r) for r in rows if not window.is_ready(r)]
        if soon:
            parts.append(f"{soon:,} {group} changes")
        if later:
            when = local_time(min(later), config, now)
            parts.append(f"{len(later):,} {group} changes deferred to {when}")
    if not parts:
        parts.append("nothing to send")
    not_in_catalog = counts.get("not_in_catalog", 0)
    parts.append(f"{not_in_catalog:,} not in catalog")
    parts.append(f"{counts.get('rejected', 0) - not_in_catalog:,} rejected rows")
    if counts.get("stale"):
        parts.append(f"{counts['stale']:,} values older than what Alephee already has (ignored)")
    if counts.get("refused_again"):
        parts.append(f"{counts['refused_again']:,} refused by Alephee before (not sent again)")
    return f"{counts.get('rows', 0):,} rows: " + ", ".join(parts)
