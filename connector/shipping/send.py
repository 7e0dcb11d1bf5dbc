"""Queued status changes go to Alephee: batches of PUT /v2/orders, per-order results.

Results are matched by ``OrderId`` (never by position). "200" advances the order's state; any
other answer for an order is a refusal, recorded with Alephee's message and reported once: the
same value is not sent again until the ERP exports a different one. An order missing from the
results stays queued (outcome unknown). A crash between the PUT and the commit sends the same
absolute values again next run: harmless (a status and a tracking number, not a movement).
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime

from connector.alephee.client import AlephClient
from connector.alephee.models import IntegrateResult, StatusUpdate
from connector.db import atomic
from connector.errors import RequestRejected
from connector.intake.crashpoints import crashpoint
from connector.shipping import state
from connector.slots import iso

log = logging.getLogger(__name__)


@dataclass
class StatusSendReport:
    sent: int = 0
    accepted: int = 0
    refused: list[tuple[state.QueuedStatus, str]] = field(default_factory=list)
    retry_later: int = 0
    calls: int = 0


def send_statuses(
    conn: sqlite3.Connection, client: AlephClient, now: datetime, *, batch_size: int
) -> StatusSendReport:
    """Send every queued status change; a StopError (Alephee down) keeps the rest queued."""
    report = StatusSendReport()
    items = state.queued(conn)
    for start in range(0, len(items), batch_size):
        _send_batch(conn, client, items[start : start + batch_size], now, report)
    return report


def status_update(item: state.QueuedStatus) -> StatusUpdate:
    tracking = {"Number": item.tracking} if item.tracking else {}
    if item.tracking_status:
        tracking["Status"] = item.tracking_status
    return StatusUpdate(order_id=item.order_id, status=item.status, tracking=tracking or None)


def _send_batch(
    conn: sqlite3.Connection,
    client: AlephClient,
    batch: list[state.QueuedStatus],
    now: datetime,
    report: StatusSendReport,
) -> None:
    before = client.stats.calls
    try:
        results = client.update_status([status_update(item) for item in batch])
    except RequestRejected as exc:
        if len(batch) > 1:  # find the item Alephee dislikes instead of refusing them all
            half = len(batch) // 2
            _send_batch(conn, client, batch[:half], now, report)
            _send_batch(conn, client, batch[half:], now, report)
            return
        results = {
            batch[0].order_id: IntegrateResult.model_validate(
                {"Status": "400", "Message": str(exc)}
            )
        }
    report.calls += client.stats.calls - before
    report.sent += len(batch)
    crashpoint("shipping.after_put")
    with atomic(conn):
        for item in batch:
            _record(conn, item, results.get(item.order_id), iso(now), report)
    crashpoint("shipping.after_commit")


def _record(
    conn: sqlite3.Connection,
    item: state.QueuedStatus,
    result: IntegrateResult | None,
    now: str,
    report: StatusSendReport,
) -> None:
    if result is None:
        state.failed_attempt(conn, item, "Alephee gave no result for this order")
        report.retry_later += 1
    elif result.status.strip() == "200":
        state.acknowledge(conn, item, now)
        report.accepted += 1
    else:
        message = result.message or f"refused (status {result.status})"
        state.refuse(conn, item, message, now)
        report.refused.append((item, message))
