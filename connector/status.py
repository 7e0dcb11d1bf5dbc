"""``connector status``: what is queued, deferred, failed; the last runs; Alephee's health.

``collect`` builds the report (``--json`` prints it; the shape is ``connector.status_model``,
documented in docs/status-schema.json); ``render`` draws it as rich tables for a person.
Reading the state database is safe while a connector runs (SQLite WAL: readers never block).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from filelock import FileLock, Timeout
from rich.console import Console
from rich.table import Table

from connector import catalog, orders_ledger, pending, runlog, snapshot
from connector.config import Config
from connector.intake import Ledger
from connector.intake.scan import is_ignored
from connector.slots import iso
from connector.status_model import (
    SCHEMA_VERSION,
    Alephee,
    FailedFile,
    Files,
    Orders,
    Queue,
    RateLimit,
    Run,
    StatusReport,
    Upcoming,
    run_counts,
)

MAX_FAILED = 20
MAX_UPCOMING = 10


def instance_running(config: Config) -> bool:
    """Does another process hold the state lock? (probing takes it for an instant)"""
    path = config.folders.state / "connector.lock"
    if not path.exists():
        return False
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        return True
    lock.release()
    return False


def collect(
    config: Config, now: datetime | None = None, *, days: float = 7.0, runs: int = 10
) -> dict[str, Any]:
    """The status report as plain JSON-ready data (see connector.status_model)."""
    from connector.runner import open_state

    now = now or datetime.now(UTC)
    running = instance_running(config)
    conn = open_state(config)
    try:
        refreshed = catalog.refreshed_at(conn)
        report = StatusReport(
            schema_version=SCHEMA_VERSION,
            generated_at=iso(now),
            timezone=config.schedule.timezone,
            config=str(config.source),
            instance_running=running,
            queue=_queue(conn, config, now),
            accepted=snapshot.counts(conn),  # type: ignore[arg-type]  # validated by pydantic
            catalog={  # type: ignore[arg-type]
                "products": catalog.size(conn),
                "refreshed_at": iso(refreshed) if refreshed else None,
            },
            files=_files(conn, config, now, days),
            orders=Orders(
                by_state=orders_ledger.counts(conn),
                last_orders_cycle=orders_ledger.last_run(conn, "orders"),
                last_cancellations_cycle=orders_ledger.last_run(conn, "cancellations"),
            ),
            runs=[_run(raw) for raw in runlog.recent(conn, runs)],
            alephee=_alephee(runlog.health(conn)),
        )
    finally:
        conn.close()
    return report.model_dump(mode="json")


def _queue(conn: sqlite3.Connection, config: Config, now: datetime) -> Queue:
    counts = pending.summary(conn, iso(now))
    rows = conn.execute(
        "SELECT due_at, grp, COUNT(*) AS n FROM queue WHERE due_at > ? GROUP BY due_at, grp "
        "ORDER BY due_at",
        (iso(now),),
    ).fetchall()
    upcoming: dict[str, Upcoming] = {}
    for row in rows:
        at = str(row["due_at"])
        if at not in upcoming:
            if len(upcoming) == MAX_UPCOMING:
                break
            upcoming[at] = Upcoming(at=at, at_local=local(at, config), stock=0, price=0)
        if row["grp"] in ("stock", "price"):
            setattr(upcoming[at], row["grp"], int(row["n"]))
    return Queue(**counts, upcoming=list(upcoming.values()))


def _files(conn: sqlite3.Connection, config: Config, now: datetime, days: float) -> Files:
    ledger = Ledger(conn)
    failed = [
        FailedFile(
            name=e.name, when=iso(e.claimed_at) if e.claimed_at else None, reason=e.detail
        )
        for e in ledger.recent(days, now=now)
        if e.status == "failed"
    ]
    inbox = config.folders.inbox
    waiting = (
        sorted(
            p.name
            for p in inbox.iterdir()
            if p.is_file() and not is_ignored(p.name, config.intake.ignore)
        )
        if inbox.is_dir()
        else []
    )
    return Files(
        days=days,
        counts=ledger.counts(days=days, now=now),
        failed=failed[:MAX_FAILED],
        waiting=waiting,
    )


def _run(raw: dict[str, Any]) -> Run:
    return Run(**{**raw, "summary": run_counts(raw["summary"])})


def _alephee(health: dict[str, Any]) -> Alephee:
    limits = health.get("rate_limits") or {}
    return Alephee(
        last_contact=health.get("last_contact"),
        last_exit=health.get("last_exit"),
        rate_limits={str(k): RateLimit(**v) for k, v in limits.items()},
    )


def local(moment: str | None, config: Config) -> str:
    """UTC ISO text shown in the schedule's time zone, to the minute ('' for None)."""
    if not moment:
        return ""
    when = datetime.fromisoformat(moment).astimezone(config.schedule.zone)
    return f"{when:%Y-%m-%d %H:%M}"


# -- for a person ------------------------------------------------------------------------------


def render(report: dict[str, Any], config: Config, console: Console | None = None) -> None:
    console = console or Console()
    model = StatusReport.model_validate(report)
    zone = config.schedule.timezone
    running = "[bold yellow]yes[/]" if model.instance_running else "no"
    console.print(f"[bold]Connector status[/] ({model.config}), times in {zone}")
    console.print(f"Another connector running now: {running}")
    console.print(_alephee_text(model, config))
    console.print(_queue_table(model, config))
    console.print(_files_text(model, config))
    if model.files.failed:
        console.print(_failed_table(model, config))
    console.print(_orders_text(model, config))
    console.print(_runs_table(model, config))


def _alephee_text(model: StatusReport, config: Config) -> str:
    health = model.alephee
    contact = local(health.last_contact, config) or "never"
    text = f"Last successful contact with Alephee: {contact}"
    if health.last_exit is not None:
        text += f" (that run ended with exit {health.last_exit})"
    for endpoint, limit in sorted(health.rate_limits.items()):
        if limit.remaining is not None:
            text += (
                f"\n  rate limit {endpoint}: {limit.remaining} of {limit.limit} calls left, "
                f"full again in {limit.reset} s"
            )
    return text + f"\nCatalog: {model.catalog.products:,} products (cached {_catalog_age(model)})"


def _catalog_age(model: StatusReport) -> str:
    return model.catalog.refreshed_at[:16].replace("T", " ") + " UTC" if model.catalog.refreshed_at else "never"


def _queue_table(model: StatusReport, config: Config) -> Table:
    queue = model.queue
    table = Table(title="Changes waiting for Alephee", title_justify="left")
    for name in ("", "stock", "price", "goes"):
        table.add_column(name)
    table.add_row("due now", "", "", "with the next run" if queue.due else "-")
    table.rows[-1].style = None
    table.columns[1]._cells[-1] = f"{queue.due:,}"
    for slot in queue.upcoming:
        table.add_row("deferred", f"{slot.stock:,}", f"{slot.price:,}", slot.at_local)
    if queue.deferred and len(queue.upcoming) == MAX_UPCOMING:
        table.add_row("...", "", "", f"{queue.deferred:,} deferred in total")
    return table
