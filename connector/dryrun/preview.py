"""The dry run (``connector once --dry-run``): a whole pass except sending and moving files.

Each ready inbox file is read, checked against the catalog and diffed exactly as a real pass
does it, inside a transaction that is then rolled back: the state database never changes. What
a file would queue is remembered and replayed under the next file, so the files of one dry run
see each other as they would in a real pass. At the end the plan says what would be sent now
and what waits for its time slot, writes that list to ``outbox/dry-run-<time>.csv``, and says
what the order cycles would write. No POST or PUT reaches Alephee and no inbox file moves.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from connector.config import Config
from connector.db import atomic
from connector.dryrun.report import (
    GROUPS,
    Row,
    Sending,
    describe_orders,
    describe_sending,
    local_time,
    sending,
    write_plan,
)
from connector.errors import SkipError, StopError
from connector.intake import Candidate, Ledger, Outcome
from connector.intake.ledger import sha256_of
from connector.orders import ledger as orders_ledger
from connector.products.ingest import IngestReport, ingest
from connector.products.pending import Window
from connector.readers import read_export
from connector.readers.mapping import ProductMapping, match_mapping
from connector.runlog import RunSummary
from connector.slots import iso, parse_iso

if TYPE_CHECKING:
    from connector.runner import Options


@dataclass
class Plan:
    """What a dry run found. ``lines`` is the human summary, in order."""

    lines: list[str] = field(default_factory=list)
    changed: dict[tuple[str, str, str], Row] = field(default_factory=dict)  # (sku, brand, grp)
    seen: set[str] = field(default_factory=set)  # contents previewed in this dry run
    sending: Sending | None = None
    report: Path | None = None

    def __iter__(self) -> Iterator[str]:
        return iter(self.lines)


class _Rollback(Exception):
    """Raised inside the scratch transaction so ``atomic`` rolls it back."""


@contextmanager
def scratch(conn: sqlite3.Connection, plan: Plan) -> Iterator[None]:
    """A transaction that is always rolled back, holding what earlier previewed files queued."""
    try:
        with atomic(conn):
            _replay(conn, plan)
            yield
            raise _Rollback
    except _Rollback:
        pass


def _replay(conn: sqlite3.Connection, plan: Plan) -> None:
    for row in plan.changed.values():
        names = list(row)
        conn.execute(
            f"INSERT OR REPLACE INTO queue ({', '.join(names)}) "
            f"VALUES ({', '.join('?' * len(names))})",
            [row[n] for n in names],
        )


# -- one file ----------------------------------------------------------------------------------


def preview(
    config: Config,
    conn: sqlite3.Connection,
    mappings: list[ProductMapping],
    candidate: Candidate,
    plan: Plan,
    now: datetime,
) -> Outcome:
    """Read and diff one file as a real pass would; claim, move and queue nothing."""
    path = candidate.path
    sha = sha256_of(path)
    if sha in plan.seen or Ledger(conn).duplicate_of(sha) is not None:
        plan.lines.append(
            f"{path.name}: same content as a file already processed: would be "
            "archived as a duplicate, nothing sent"
        )
        return Outcome("duplicate")
    try:
        report, touched = _ingest(config, conn, mappings, candidate, plan, now)
    except StopError:
        raise
    except SkipError as exc:
        hint = getattr(exc, "hint", "")
        message = str(exc).removeprefix(f"{path.name}: ")
        plan.lines.append(
            f"{path.name}: would go to failed/: {message}" + (f"; {hint}" if hint else "")
        )
        return Outcome("failed", str(exc))
    except Exception as exc:  # noqa: BLE001 - the real intake sends such a file to failed/ too
        plan.lines.append(f"{path.name}: would go to failed/ (unexpected error: {exc})")
        return Outcome("failed", str(exc))
    plan.changed.update(touched)
    plan.seen.add(sha)  # only content that went through: failed content is tried again
    plan.lines.append(f"{path.name}: " + describe_file(report, touched, config, now))
    counts = {
        "rows": report.rows,
        "rejected": report.rejected,
        "not_in_catalog": report.not_in_catalog,
        "queued": sum(report.queued.values()),
        "deferred": report.deferred,
    }
    return Outcome("done", "", counts)


def _ingest(
    config: Config,
    conn: sqlite3.Connection,
    mappings: list[ProductMapping],
    candidate: Candidate,
    plan: Plan,
    now: datetime,
) -> tuple[IngestReport, dict[tuple[str, str, str], Row]]:
    mapping = match_mapping(candidate.path, mappings)
    if mapping is None:
        raise SkipError(
            f"no mapping in {config.folders.mappings} matches the file name "
            f"{candidate.path.name!r}: add the name to the 'files' patterns of a mapping"
        )
    export = read_export(candidate.path, mapping)
    with scratch(conn, plan):
        conn.execute("DROP TABLE IF EXISTS temp.dry_run_before")
        conn.execute("CREATE TEMP TABLE dry_run_before AS SELECT * FROM queue")
        report = ingest(
            conn, export, as_of=candidate.as_of, now=now, schedule=config.schedule, dry_run=False
        )
        rows = conn.execute("SELECT * FROM queue EXCEPT SELECT * FROM temp.dry_run_before")
        touched = {(r["sku"], r["brand"], r["grp"]): dict(r) for r in rows.fetchall()}
    return report, touched


def describe_file(
    report: IngestReport, touched: dict[tuple[str, str, str], Row], config: Config, now: datetime
) -> str:
    """One line in the spirit of csv-diff: '1,204 rows: 37 stock changes, 12 price ... 00:00'."""
    moment = iso(now)
    parts = []
    for group in GROUPS:
        rows = [r for r in touched.values() if r["grp"] == group]
        soon = sum(1 for r in rows if r["due_at"] <= moment)
        later = [r["due_at"] for r in rows if r["due_at"] > moment]
        if soon:
            parts.append(f"{soon:,} {group} changes")
        if later:
            when = local_time(min(later), config, now)
            parts.append(f"{len(later):,} {group} changes deferred to {when}")
    if not parts:
        parts.append("nothing to send")
    parts.append(f"{report.not_in_catalog:,} not in catalog")
    parts.append(f"{report.rejected - report.not_in_catalog:,} rejected rows")
    if report.stale:
        parts.append(f"{report.stale:,} values older than what Alephee already has (ignored)")
    if report.refused_again:
        parts.append(f"{report.refused_again:,} refused by Alephee before (not sent again)")
    return f"{report.rows:,} rows: " + ", ".join(parts)


# -- the whole dry run -------------------------------------------------------------------------


def dry_run(config: Config, options: Options) -> tuple[int, RunSummary]:
    """``once`` without effects, then the plan: what would be sent, written, deferred."""
    from connector.runner import once, open_state

    options.dry_run = True
    code, summary = once(config, options)
    if code not in (0, 1):
        return code, summary  # stopped (config, lock, Alephee): the reason is in the summary
    now = options.now()
    conn = open_state(config)
    try:
        with scratch(conn, options.plan):
            queue = [dict(r) for r in conn.execute("SELECT * FROM queue ORDER BY due_at, sku, grp")]
        cycles_due = _cycles_due(conn, config, now) or options.force_cycles
    finally:
        conn.close()
    plan = options.plan
    window = Window.at(now, config.schedule)
    plan.sending = sending(queue, window, config.alephee.batch_size)
    plan.lines.extend(describe_sending(plan.sending, config, now))
    if queue:
        plan.report = write_plan(config, queue, now)
        plan.lines.append(f"The list is in {plan.report}")
    if options.orders and config.orders.enabled:
        plan.lines.append(describe_orders(summary, due=cycles_due))
    return code, summary


def _cycles_due(conn: sqlite3.Connection, config: Config, now: datetime) -> bool:
    every = {
        "orders": timedelta(minutes=config.schedule.orders_every_minutes),
        "cancellations": timedelta(hours=config.schedule.cancellations_every_hours),
    }
    for name, interval in every.items():
        last = orders_ledger.last_run(conn, name)
        if last is None or now - parse_iso(last) >= interval:
            return True
    return False
