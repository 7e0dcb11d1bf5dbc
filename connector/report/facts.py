"""What the report and the alerts know: one read of the state database, as plain data.

Every table read here is written by a lower stage (runlog, the intake ledger, the queue, the
accepted and refused products, the orders ledger); nothing here writes. Reading is safe while a
connector runs (SQLite WAL).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from connector import runlog
from connector.config import Config
from connector.intake import Ledger
from connector.orders import ledger as orders_ledger
from connector.slots import iso

MAX_LISTED = 50  # rows per table on the page: the counts above them stay exact
MAX_RUNS = 60
MAX_UPCOMING = 10
INTERNAL_ERROR = 5  # the contract's exit code for an unexpected internal error


def moment(text: str) -> datetime:
    """Both ISO spellings in the database (``...Z`` and ``+00:00``) as an aware UTC time."""
    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Run:
    mode: str
    started_at: datetime
    finished_at: datetime
    exit_code: int
    counts: dict[str, float]
    message: str


@dataclass(frozen=True)
class FailedFile:
    name: str
    when: datetime
    reason: str
    hint: str
    still_in_failed: bool


@dataclass(frozen=True)
class Refusal:
    sku: str
    group: str
    message: str
    at: datetime


@dataclass(frozen=True)
class Order:
    order_id: int
    own_order_id: str
    state: str
    written_at: datetime | None
    message: str


@dataclass
class Day:
    """Totals of the runs that started on one local day."""

    day: date
    totals: dict[str, float] = field(default_factory=dict)
    longest_seconds: float = 0.0

    def add(self, run: Run) -> None:
        for key, value in run.counts.items():
            self.totals[key] = self.totals.get(key, 0) + value
        self.longest_seconds = max(self.longest_seconds, run.counts.get("seconds", 0.0))

    def get(self, key: str) -> float:
        return self.totals.get(key, 0)


@dataclass(frozen=True)
class Facts:
    now: datetime
    config: Config
    runs: list[Run]  # newest first, within the report's days
    days: list[Day]  # oldest first, one per local day, empty days included
    failed_files: list[FailedFile]  # newest first
    file_counts: dict[str, int]
    refusals: list[Refusal]  # oldest first
    refused_total: int
    queue: dict[str, Any]  # pending.summary
    upcoming: list[tuple[datetime, int, int]]  # when, stock, price
    old_deferred: tuple[int, datetime | None]  # changes waiting past the limit, oldest
    orders: dict[str, int]
    recent_orders: list[Order]
    last_contact: datetime | None

    @property
    def last_run(self) -> Run | None:
        return self.runs[0] if self.runs else None


def gather(conn: sqlite3.Connection, config: Config, now: datetime) -> Facts:
    """Read everything the page and the alerts need, for the last ``report.days`` days."""
    days = config.report.days
    since = now - timedelta(days=days)
    runs = _runs(conn, since)
    products = _has_table(conn, "queue")  # no file ever processed here: no products facts
    refusals = _refusals(conn) if products else []
    health = runlog.health(conn)
    return Facts(
        now=now,
        config=config,
        runs=runs,
        days=_by_day(runs, config, now, days),
        failed_files=_failed(conn, days, now),
        file_counts=Ledger(conn).counts(days=days, now=now),
        refusals=refusals[:MAX_LISTED],
        refused_total=len(refusals),
        queue=_queue(conn, config, now) if products else dict(NO_QUEUE),
        upcoming=_upcoming(conn, config, now) if products else [],
        old_deferred=(
            _old_deferred(conn, now - timedelta(hours=config.alerts.deferred_hours))
            if products
            else (0, None)
        ),
        orders=orders_ledger.counts(conn),
        recent_orders=_orders(conn),
        last_contact=moment(health["last_contact"]) if health.get("last_contact") else None,
    )


NO_QUEUE: dict[str, Any] = {
    "due": 0,
    "deferred": 0,
    "missed_night": 0,
    "next_deferred_at": None,
    "held_refused": 0,
    "next_retry_at": None,
    "by_group": {},
    "due_by_group": {},
    "held_by_group": {},
}


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return found.fetchone() is not None


def _queue(conn: sqlite3.Connection, config: Config, now: datetime) -> dict[str, Any]:
    from connector.products import pending  # only where the products side has run

    return pending.summary(conn, pending.Window.at(now, config.schedule))


def _runs(conn: sqlite3.Connection, since: datetime) -> list[Run]:
    rows = conn.execute(
        "SELECT mode, started_at, finished_at, exit_code, summary, message FROM runs "
        "ORDER BY id DESC"
    )
    runs = []
    for row in rows:
        started = moment(row["started_at"])
        if started < since:
            break  # ids grow with time: the rest is older
        summary = json.loads(row["summary"])
        counts = {k: float(v) for k, v in summary.items() if isinstance(v, int | float)}
        runs.append(
            Run(
                mode=row["mode"],
                started_at=started,
                finished_at=moment(row["finished_at"]),
                exit_code=int(row["exit_code"]),
                counts=counts,
                message=row["message"] or "",
            )
        )
    return runs


def _by_day(runs: list[Run], config: Config, now: datetime, days: int) -> list[Day]:
    zone = config.schedule.zone
    today = now.astimezone(zone).date()
    by_day = {today - timedelta(days=n): Day(today - timedelta(days=n)) for n in range(days)}
    for run in runs:
        day = by_day.get(run.started_at.astimezone(zone).date())
        if day is not None:
            day.add(run)
    return [by_day[key] for key in sorted(by_day)]


def _failed(conn: sqlite3.Connection, days: int, now: datetime) -> list[FailedFile]:
    return [
        FailedFile(
            name=entry.name,
            when=entry.claimed_at,
            reason=entry.detail.removeprefix(f"{entry.name}: "),  # the name is beside it
            hint=entry.hint,
            still_in_failed=bool(entry.final_path and entry.final_path.exists()),
        )
        for entry in Ledger(conn).recent(days, now=now)
        if entry.status == "failed"
    ]


def _refusals(conn: sqlite3.Connection) -> list[Refusal]:
    rows = conn.execute("SELECT sku, grp, message, at FROM refused ORDER BY at, sku")
    return [Refusal(r["sku"], r["grp"], r["message"], moment(r["at"])) for r in rows]


def _upcoming(
    conn: sqlite3.Connection, config: Config, now: datetime
) -> list[tuple[datetime, int, int]]:
    """When deferred changes go (stock, price), soonest first, by the queue's own rule (a
    missed night waits for the next one)."""
    from connector.products import pending  # only where the products side has run

    window = pending.Window.at(now, config.schedule)
    by_time: dict[str, dict[str, int]] = {}
    for at, group, count in pending.upcoming(conn, window, MAX_UPCOMING * 2):
        by_time.setdefault(at, {})[group] = count
    return [
        (moment(at), groups.get("stock", 0), groups.get("price", 0))
        for at, groups in list(by_time.items())[:MAX_UPCOMING]
    ]


def _old_deferred(conn: sqlite3.Connection, before: datetime) -> tuple[int, datetime | None]:
    """Changes waiting since before ``before``; a held refusal has its own alert (refused)."""
    from connector.products.pending import HELD

    row = conn.execute(
        "SELECT COUNT(*) AS n, MIN(enqueued_at) AS oldest FROM queue WHERE enqueued_at < ? "
        "AND reason <> ?",
        (iso(before), HELD),
    ).fetchone()
    return int(row["n"]), moment(row["oldest"]) if row["oldest"] else None


def _orders(conn: sqlite3.Connection) -> list[Order]:
    rows = conn.execute(
        "SELECT order_id, own_order_id, state, written_at, message FROM orders "
        "ORDER BY COALESCE(written_at, '') DESC, order_id DESC LIMIT ?",
        (MAX_LISTED,),
    )
    return [
        Order(
            order_id=int(r["order_id"]),
            own_order_id=r["own_order_id"],
            state=r["state"],
            written_at=moment(r["written_at"]) if r["written_at"] else None,
            message=r["message"] or "",
        )
        for r in rows
    ]
