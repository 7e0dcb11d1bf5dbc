"""A status file becomes queued changes: resolve each order, keep only what changed, queue it.

Per row, in this order: the order must resolve to an Alephee Id (``alephee.orderrefs``); a
value from an export older than the one already acknowledged or queued for the order is stale
and dropped; a value equal to what Alephee acknowledged, to what is queued, or to what Alephee
refused is not queued again; a status that goes back (20 after 80) is rejected unless the
mapping allows it; anything else replaces the queued value (newer supersedes older).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime

from connector.alephee import orderrefs
from connector.alephee.client import AlephClient
from connector.db import atomic
from connector.shipping import state
from connector.shipping.mapping import StatusMapping
from connector.shipping.read import StatusFile, StatusRow
from connector.slots import iso

# How far along a status is; a lower rank after a higher one goes backwards. 80 and 90 are
# final: nothing may follow them but themselves.
RANK = {10: 1, 17: 2, 20: 3, 80: 4, 90: 4}


@dataclass
class StatusReport:
    rows: int = 0
    rejected: int = 0
    unknown_orders: int = 0
    queued: int = 0
    unchanged: int = 0
    stale: int = 0
    already_queued: int = 0
    refused_again: int = 0
    resolved: dict[str, int] = field(default_factory=dict)  # reference -> Alephee Id
    queued_items: list[state.QueuedStatus] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "rejected": self.rejected,
            "status_queued": self.queued,
            "status_unchanged": self.unchanged,
            "stale": self.stale,
        }


def ingest_status(
    conn: sqlite3.Connection,
    client: AlephClient | None,
    status_file: StatusFile,
    mapping: StatusMapping,
    *,
    as_of: datetime,
    now: datetime,
) -> StatusReport:
    report = StatusReport(rows=len(status_file.rows) + len(status_file.rejects))
    rows = status_file.rows
    report.resolved = orderrefs.resolve(
        conn, client, mapping.order_reference, [r.ref for r in rows]
    )
    found: list[tuple[int, StatusRow]] = []
    for row in rows:
        order_id = report.resolved.get(row.ref)
        if order_id is None:
            report.unknown_orders += 1
            status_file.reject(row, _unknown(mapping, row.ref))
        else:
            found.append((order_id, row))
    source, stamp = status_file.export.path.name, iso(as_of)
    items = [
        (state.QueuedStatus(order_id, row.ref, *row.values, source, row.line, stamp), row)
        for order_id, row in found
    ]
    problems = queue_changes(
        conn, [item for item, _ in items], mapping.allow_backwards, iso(now), report
    )
    for (_, row), problem in zip(items, problems, strict=True):
        if problem:
            status_file.reject(row, problem)
    report.rejected = len(status_file.rejects)
    return report


def queue_changes(
    conn: sqlite3.Connection,
    items: list[state.QueuedStatus],
    allow_backwards: bool,
    now: str,
    report: StatusReport,
) -> list[str]:
    """Queue what changed, in one transaction; the reject reason of each item ("" if none)."""
    problems: list[str] = []
    with atomic(conn):
        known = state.known(conn, [item.order_id for item in items])
        for item in items:
            verdict = decide(known.get(item.order_id, state.Known()), item, allow_backwards)
            problems.append("")
            if verdict == "queue":
                report.queued += 1
                report.queued_items.append(item)
                state.enqueue(conn, item, now)
            elif verdict == "unqueue":
                report.unchanged += 1
                state.drop_queued(conn, item.order_id)
                state.seen_at(conn, item.order_id, item.as_of)
            elif verdict in ("unchanged", "stale", "already_queued", "refused_again"):
                setattr(report, verdict, getattr(report, verdict) + 1)
                if verdict in ("unchanged", "already_queued"):
                    # A newer export confirming the value: an older one arriving later is stale.
                    state.seen_at(conn, item.order_id, item.as_of)
            else:
                problems[-1] = verdict
    return problems


def decide(known: state.Known, item: state.QueuedStatus, allow_backwards: bool) -> str:
    """What to do with one resolved row: "queue", a count name, or a reject reason."""
    queued = known.queued
    if (queued is not None and queued.as_of > item.as_of) or known.acked_as_of > item.as_of:
        return "stale"
    if queued is not None and queued.values == item.values:
        return "already_queued"
    if known.acked == item.values:
        # Alephee has this value already; a different, older value still queued is dropped.
        return "unchanged" if queued is None else "unqueue"
    if known.refused == item.values:
        return "refused_again"
    latest = queued.status if queued is not None else known.acked[0] if known.acked else None
    if not allow_backwards and latest is not None and _backwards(latest, item.status):
        return (
            f"status {item.status} after {latest} goes backwards; fix the ERP status, or set "
            "allow_backwards = true in the mapping"
        )
    return "queue"


def _backwards(latest: int, new: int) -> bool:
    if latest in (80, 90):
        return new != latest
    return RANK[new] < RANK.get(latest, 0)


def _unknown(mapping: StatusMapping, ref: str) -> str:
    where = {
        "OwnOrderId": "among the orders the connector wrote to the outbox",
        "Id": "in Alephee",
        "ExternalOrderId": "in Alephee",
    }[mapping.order_reference]
    return f"unknown order: no order with {mapping.order_reference} {ref} {where}"
