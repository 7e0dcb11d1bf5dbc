"""``connector status``: what is queued, deferred, failed; the last runs; Alephee's health.

``collect`` builds the report (``--json`` prints it; the shape is
``connector.operator.status_model``,
documented in docs/status-schema.json); ``render`` draws it as rich tables for a person.
Reading the state database is safe while a connector runs (SQLite WAL: readers never block).
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict
from datetime import datetime
from typing import Any

from filelock import FileLock, Timeout
from rich.console import Console
from rich.table import Table

from connector import clock, runlog
from connector.config import Config
from connector.documents import ledger as documents_ledger
from connector.documents.names import NamePatterns
from connector.intake import Ledger
from connector.intake.scan import is_ignored
from connector.operator.status_model import (
    SCHEMA_VERSION,
    Accepted,
    Alephee,
    Catalog,
    DocumentFailure,
    Documents,
    FailedFile,
    Files,
    Orders,
    Queue,
    RateLimit,
    Run,
    Sending,
    StatusRefusal,
    StatusReport,
    StatusUpdates,
    UnresolvedOrder,
    Upcoming,
    run_counts,
)
from connector.orders import ledger as orders_ledger
from connector.products import catalog, pending, sendlog, snapshot
from connector.shipping import state as shipping_state
from connector.slots import iso

MAX_FAILED = 20
MAX_UPCOMING = 10


def instance_running(config: Config) -> bool:
    """Is a connector running on this state folder? Probes the running marker, never the
    instance lock itself (see ``connector.runner.instance_lock``): a ``once`` starting while
    status looks must not exit 4."""
    from connector.runner import RUNNING_MARKER

    path = config.folders.state / RUNNING_MARKER
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
    """The status report as plain JSON-ready data (see connector.operator.status_model)."""
    from connector.runner import open_state

    now = now or clock.now()
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
            sending=_sending(conn, running),
            accepted=Accepted(**snapshot.counts(conn)),
            catalog=Catalog(
                products=catalog.size(conn), refreshed_at=iso(refreshed) if refreshed else None
            ),
            files=_files(conn, config, now, days),
            orders=Orders(
                by_state=orders_ledger.counts(conn),
                last_orders_cycle=orders_ledger.last_run(conn, "orders"),
                last_cancellations_cycle=orders_ledger.last_run(conn, "cancellations"),
                unresolved=[
                    UnresolvedOrder(**asdict(entry)) for entry in orders_ledger.unresolved(conn)
                ],
            ),
            status_updates=_status_updates(conn),
            documents=_documents(conn, config),
            runs=[_run(raw) for raw in runlog.recent(conn, runs)],
            alephee=_alephee(runlog.health(conn)),
        )
    finally:
        conn.close()
    return report.model_dump(mode="json")


def _queue(conn: sqlite3.Connection, config: Config, now: datetime) -> Queue:
    window = pending.Window.at(now, config.schedule)
    counts = pending.summary(conn, window)
    upcoming: dict[str, Upcoming] = {}
    for at, group, count in pending.upcoming(conn, window, MAX_UPCOMING * 2):
        if at not in upcoming:
            if len(upcoming) == MAX_UPCOMING:
                break
            upcoming[at] = Upcoming(at=at, at_local=local(at, config), stock=0, price=0)
        if group in ("stock", "price"):
            setattr(upcoming[at], group, count)
    return Queue(
        **counts,
        max_wait_hours=config.schedule.deferred_max_wait_hours,
        upcoming=list(upcoming.values()),
    )


def _sending(conn: sqlite3.Connection, running: bool) -> Sending | None:
    progress = sendlog.latest(conn)
    if progress is None:
        return None
    if progress.finished_at is not None:
        state = "finished" if progress.left == 0 else "stopped"
    else:
        state = "sending" if running else "interrupted"
    return Sending(
        state=state,
        started_at=progress.started_at,
        total=progress.total,
        done=progress.done,
        calls=progress.calls,
        calls_per_minute=progress.calls_per_minute(),
        seconds_left=progress.seconds_left() if state == "sending" else None,
        finished_at=progress.finished_at,
        slot_ends_at=progress.slot_ends_at,
    )


def _files(conn: sqlite3.Connection, config: Config, now: datetime, days: float) -> Files:
    ledger = Ledger(conn)
    failed = [
        FailedFile(name=e.name, when=iso(e.claimed_at) if e.claimed_at else None, reason=e.detail)
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


def _status_updates(conn: sqlite3.Connection) -> StatusUpdates:
    refusals = [
        StatusRefusal(
            order_id=r["order_id"],
            status=r["refused_status"],
            message=r["refused_message"] or "",
            at=r["refused_at"],
        )
        for r in shipping_state.refusals(conn, MAX_FAILED)
    ]
    return StatusUpdates(**shipping_state.summary(conn), refusals=refusals)


def _documents(conn: sqlite3.Connection, config: Config) -> Documents:
    counts = documents_ledger.summary(conn)
    folder = config.documents_folder
    patterns = NamePatterns(config.documents)
    waiting = (
        sorted(p.name for p in folder.iterdir() if p.is_file() and patterns.match(p.name))
        if folder.is_dir()
        else []
    )
    failures = [
        DocumentFailure(
            name=f["name"], order_id=f["order_id"], reason=f["message"] or "", when=f["updated_at"]
        )
        for f in counts.pop("recent_failures")
    ]
    return Documents(folder=str(folder), waiting=waiting, recent_failures=failures, **counts)


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
    """The report as a person reads it: a few lines and three tables, times in local time."""
    console = console or Console()
    model = StatusReport.model_validate(report)
    running = "[bold yellow]yes[/]" if model.instance_running else "no"
    console.print(f"[bold]Connector status[/] {model.config}")
    console.print(f"Times are in {model.timezone}")
    console.print(f"Another connector running now: {running}")
    console.print(_alephee_text(model, config))
    console.print(_queue_table(model, config))
    if model.sending is not None:
        console.print(_sending_text(model.sending, config))
    console.print(_files_text(model))
    if model.files.failed:
        console.print(_failed_table(model, config))
    console.print(_orders_text(model, config))
    console.print(_back_text(model, config))
    console.print(_runs_table(model, config))


def _alephee_text(model: StatusReport, config: Config) -> str:
    health = model.alephee
    lines = [
        f"Last successful contact with Alephee: {local(health.last_contact, config) or 'never'}"
    ]
    if health.last_exit is not None:
        lines[0] += f" (that run ended with exit code {health.last_exit})"
    if health.rate_limits:
        lines.append("Alephee's rate limits at that contact:")
    for endpoint, limit in sorted(health.rate_limits.items()):
        if limit.remaining is not None:
            lines.append(
                f"  {endpoint}: {limit.remaining} of {limit.limit} calls left "
                f"(full in {limit.reset} s)"
            )
    cached = local(model.catalog.refreshed_at, config) or "never"
    lines.append(f"Alephee catalog: {model.catalog.products:,} products (downloaded {cached})")
    return "\n".join(lines)


def _sending_text(sending: Sending, config: Config) -> str:
    """``sending: N of M products, about T left at C calls/min`` (or how the last send ended)."""
    count = f"{sending.done:,} of {sending.total:,} products"
    pace = f"{sending.calls_per_minute:,.0f} calls/min" if sending.calls_per_minute else ""
    if sending.state == "sending":
        text = f"Sending: {count}"
        if sending.seconds_left is not None and pace:
            text += f", about {sendlog.duration(sending.seconds_left)} left at {pace}"
        if sending.slot_ends_at:
            text += f"; the night slot ends {local(sending.slot_ends_at, config)}"
        return text
    calls = f"{sending.calls:,} calls" + (f" at {pace}" if pace else "")
    if sending.state == "finished":
        return f"Last send: {count} in {calls}, finished {local(sending.finished_at, config)}"
    ended = "stopped" if sending.state == "stopped" else "was interrupted"
    return f"Last send {ended} at {count} ({calls}); the rest waits in the queue"


def _queue_table(model: StatusReport, config: Config) -> Table:
    queue = model.queue
    table = Table(
        title="Changes waiting for Alephee (a change: one product's stock or its prices)",
        title_justify="left",
    )
    for name in ("", "stock", "price", "they go"):
        table.add_column(name)
    due = queue.due_by_group
    table.add_row(
        "due now",
        f"{due.get('stock', 0):,}",
        f"{due.get('price', 0):,}",
        "with the next run" if queue.due else "-",
    )
    for slot in queue.upcoming:
        table.add_row("deferred", f"{slot.stock:,}", f"{slot.price:,}", slot.at_local)
    shown = sum(slot.stock + slot.price for slot in queue.upcoming)
    if queue.deferred > shown:
        table.add_row("deferred", "", "", f"{queue.deferred - shown:,} more, later")
    if queue.held_refused:
        held = queue.held_by_group
        retry = local(queue.next_retry_at, config) if queue.next_retry_at else "-"
        table.add_row(
            "refused, held",
            f"{held.get('stock', 0):,}",
            f"{held.get('price', 0):,}",
            f"retried from {retry} (why: the refusals report in the outbox)",
        )
    if queue.missed_night:
        table.caption = (
            f"{queue.missed_night:,} deferred changes missed their night slot (the connector "
            f"did not run then): they wait for the next night, or go once they have waited "
            f"{queue.max_wait_hours:g} h (schedule.deferred_max_wait_hours)"
        )
        table.caption_justify = "left"
    return table


def _files_text(model: StatusReport) -> str:
    files = model.files
    counts = ", ".join(f"{n:,} {status}" for status, n in files.counts.items() if n)
    waiting = ", ".join(files.waiting) or "none"
    return (
        f"Files in the last {files.days:g} days: {counts or 'none'}\n"
        f"Waiting in the inbox: {waiting}"
    )


def _failed_table(model: StatusReport, config: Config) -> Table:
    table = Table(title="Failed files (in failed/, each with a .error.txt)", title_justify="left")
    for name in ("file", "when", "why"):
        table.add_column(name)
    for failed in model.files.failed:
        table.add_row(failed.name, local(failed.when, config), failed.reason)
    return table


ORDER_STATES = {
    "planned": "being written",
    "written": "written, mark in Alephee pending",
    "marked": "written and marked integrated",
    "not_found": "unknown to Alephee",
    "cancellations": "cancellation lines written",
}


def _orders_text(model: StatusReport, config: Config) -> str:
    orders = model.orders
    states = ", ".join(
        f"{n:,} {ORDER_STATES.get(state, state)}" for state, n in sorted(orders.by_state.items())
    )
    lines = [
        f"Orders: {states or 'none yet'}",
        f"Order cycle last ran {local(orders.last_orders_cycle, config) or 'never'}; "
        f"late cancellations {local(orders.last_cancellations_cycle, config) or 'never'}",
    ]
    for entry in orders.unresolved:
        what = "re-checked next cycle" if entry.state == "written" else "check it in Alephee"
        lines.append(
            f"  order {entry.order_id} ({entry.own_order_id}) not found by Alephee "
            f"{entry.checks}x: {what}"
        )
    return "\n".join(lines)


def _back_text(model: StatusReport, config: Config) -> str:
    """Status updates and documents going back to Alephee."""
    updates, docs = model.status_updates, model.documents
    lines = [
        f"Order status updates: {updates.waiting:,} waiting, {updates.sent:,} orders up to date "
        f"in Alephee (last {local(updates.last_sent_at, config) or 'never'}), "
        f"{updates.refused:,} refused"
    ]
    for refusal in updates.refusals[:5]:
        lines.append(f"  order {refusal.order_id} status {refusal.status}: {refusal.message}")
    waiting = ", ".join(docs.waiting) or "none"
    lines.append(
        f"Documents: {docs.attached:,} attached, {docs.failed:,} failed; waiting: {waiting}"
    )
    for failure in docs.recent_failures[:5]:
        lines.append(f"  {failure.name}: {failure.reason}")
    return "\n".join(lines)


def _runs_table(model: StatusReport, config: Config) -> Table:
    table = Table(title="Last runs", title_justify="left")
    table.add_column("started", no_wrap=True)
    table.add_column("mode")
    table.add_column("exit", justify="right")
    table.add_column("summary")
    for run in model.runs:
        s = run.summary
        text = (
            f"files {s.files}, rows {s.rows:,}, rejected {s.rejected:,}, changes sent "
            f"{s.sent:,} (accepted {s.accepted:,}, refused {s.refused:,}), deferred "
            f"{s.deferred:,}, orders {s.orders_written:,}, cancellations "
            f"{s.cancellations:,}, calls {s.calls:,}, 429s {s.rate_limited:,}, {s.seconds:.1f} s"
        )
        if s.status_sent or s.documents_attached or s.documents_failed:
            text += (
                f"\nstatus updates {s.status_sent:,} (refused {s.status_refused:,}), documents "
                f"{s.documents_attached:,} (failed {s.documents_failed:,})"
            )
        if run.message:
            text += f"\n{run.message}"
        code = f"[bold red]{run.exit_code}[/]" if run.exit_code >= 2 else str(run.exit_code)
        table.add_row(local(run.started_at, config), run.mode, code, text)
    return table
