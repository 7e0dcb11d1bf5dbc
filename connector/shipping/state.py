"""Durable state of the status side: what Alephee acknowledged per order, and the queue.

``order_status``: per Alephee order, the last status and tracking Alephee acknowledged (and the
export they came from), or the value it refused with its message: a refused value is not sent
again until the ERP exports a different one.
``status_queue``: one row per order still to send. A newer export replaces a queued older value
(coalescing); an older export never replaces a newer one. Rows leave the queue only in the
transaction that records Alephee's answer for them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from connector.db import migrate


def init(conn: sqlite3.Connection) -> None:
    migrate(
        conn,
        "order_status_v1",
        [
            "CREATE TABLE order_status (order_id INTEGER PRIMARY KEY, status INTEGER, "
            "tracking TEXT, tracking_status TEXT, as_of TEXT, acked_at TEXT, "
            "refused_status INTEGER, refused_tracking TEXT, refused_tracking_status TEXT, "
            "refused_message TEXT, refused_at TEXT)",
            "CREATE TABLE status_queue (order_id INTEGER PRIMARY KEY, ref TEXT NOT NULL, "
            "status INTEGER NOT NULL, tracking TEXT NOT NULL, tracking_status TEXT NOT NULL, "
            "source TEXT NOT NULL, line INTEGER NOT NULL, as_of TEXT NOT NULL, "
            "enqueued_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT)",
        ],
    )


Values = tuple[int, str, str]  # status code, tracking number, tracking status


@dataclass(frozen=True)
class QueuedStatus:
    order_id: int
    ref: str
    status: int
    tracking: str
    tracking_status: str
    source: str
    line: int
    as_of: str

    @property
    def values(self) -> Values:
        return (self.status, self.tracking, self.tracking_status)


@dataclass(frozen=True)
class Known:
    """What the state says about one order (None where nothing is known)."""

    acked: Values | None = None
    acked_as_of: str = ""
    refused: Values | None = None
    queued: QueuedStatus | None = None


def known(conn: sqlite3.Connection, order_ids: list[int]) -> dict[int, Known]:
    found: dict[int, Known] = {}
    for start in range(0, len(order_ids), 500):
        chunk = order_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        queued = {
            int(r["order_id"]): _queued(r)
            for r in conn.execute(f"SELECT * FROM status_queue WHERE order_id IN ({marks})", chunk)
        }
        rows = conn.execute(f"SELECT * FROM order_status WHERE order_id IN ({marks})", chunk)
        for r in rows:
            found[int(r["order_id"])] = Known(
                acked=_values(r, "") if r["status"] is not None else None,
                acked_as_of=r["as_of"] or "",
                refused=_values(r, "refused_") if r["refused_status"] is not None else None,
                queued=queued.pop(int(r["order_id"]), None),
            )
        for order_id, item in queued.items():
            found[order_id] = Known(queued=item)
    return found


def enqueue(conn: sqlite3.Connection, item: QueuedStatus, now: str) -> None:
    """Upsert, unless a newer export's value is already queued for the order."""
    conn.execute(
        "INSERT INTO status_queue (order_id, ref, status, tracking, tracking_status, source, "
        "line, as_of, enqueued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(order_id) DO UPDATE SET ref = excluded.ref, status = excluded.status, "
        "tracking = excluded.tracking, tracking_status = excluded.tracking_status, "
        "source = excluded.source, line = excluded.line, as_of = excluded.as_of, "
        "enqueued_at = excluded.enqueued_at, attempts = 0, last_error = NULL "
        "WHERE excluded.as_of >= status_queue.as_of",
        (
            item.order_id,
            item.ref,
            *item.values,
            item.source,
            item.line,
            item.as_of,
            now,
        ),
    )


def queued(conn: sqlite3.Connection) -> list[QueuedStatus]:
    rows = conn.execute("SELECT * FROM status_queue ORDER BY order_id").fetchall()
    return [_queued(row) for row in rows]


def still_queued(conn: sqlite3.Connection, item: QueuedStatus) -> bool:
    row = conn.execute("SELECT * FROM status_queue WHERE order_id = ?", (item.order_id,))
    found = row.fetchone()
    return found is not None and _queued(found) == item


def acknowledge(conn: sqlite3.Connection, item: QueuedStatus, now: str) -> None:
    conn.execute(
        "INSERT INTO order_status (order_id, status, tracking, tracking_status, as_of, acked_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(order_id) DO UPDATE SET status = excluded.status, "
        "tracking = excluded.tracking, tracking_status = excluded.tracking_status, "
        "as_of = excluded.as_of, acked_at = excluded.acked_at, refused_status = NULL, "
        "refused_tracking = NULL, refused_tracking_status = NULL, refused_message = NULL",
        (item.order_id, *item.values, item.as_of, now),
    )
    _dequeue(conn, item)


def refuse(conn: sqlite3.Connection, item: QueuedStatus, message: str, now: str) -> None:
    conn.execute(
        "INSERT INTO order_status (order_id, refused_status, refused_tracking, "
        "refused_tracking_status, refused_message, refused_at) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(order_id) DO UPDATE SET refused_status = excluded.refused_status, "
        "refused_tracking = excluded.refused_tracking, "
        "refused_tracking_status = excluded.refused_tracking_status, "
        "refused_message = excluded.refused_message, refused_at = excluded.refused_at",
        (item.order_id, *item.values, message, now),
    )
    _dequeue(conn, item)


def failed_attempt(conn: sqlite3.Connection, item: QueuedStatus, error: str) -> None:
    conn.execute(
        "UPDATE status_queue SET attempts = attempts + 1, last_error = ? WHERE order_id = ?",
        (error, item.order_id),
    )


def seen_at(conn: sqlite3.Connection, order_id: int, as_of: str) -> None:
    """An export of ``as_of`` repeated the value acknowledged or queued for the order: both
    count as that recent, so an older export that arrives later cannot replace them."""
    conn.execute(
        "UPDATE status_queue SET as_of = ? WHERE order_id = ? AND as_of < ?",
        (as_of, order_id, as_of),
    )
    conn.execute(
        "UPDATE order_status SET as_of = ? WHERE order_id = ? AND status IS NOT NULL "
        "AND (as_of IS NULL OR as_of < ?)",
        (as_of, order_id, as_of),
    )


def drop_queued(conn: sqlite3.Connection, order_id: int) -> None:
    conn.execute("DELETE FROM status_queue WHERE order_id = ?", (order_id,))


def _dequeue(conn: sqlite3.Connection, item: QueuedStatus) -> None:
    if still_queued(conn, item):  # a newer value queued meanwhile stays
        conn.execute("DELETE FROM status_queue WHERE order_id = ?", (item.order_id,))


def summary(conn: sqlite3.Connection) -> dict[str, Any]:
    """Counts for ``connector status``."""
    waiting = conn.execute("SELECT COUNT(*) FROM status_queue").fetchone()[0]
    row = conn.execute(
        "SELECT SUM(status IS NOT NULL) AS sent, SUM(refused_status IS NOT NULL) AS refused, "
        "MAX(acked_at) AS last_sent_at FROM order_status"
    ).fetchone()
    return {
        "waiting": int(waiting or 0),
        "sent": int(row["sent"] or 0),
        "refused": int(row["refused"] or 0),
        "last_sent_at": row["last_sent_at"],
    }


def refusals(conn: sqlite3.Connection, limit: int = 20) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT order_id, refused_status, refused_message, refused_at FROM order_status "
        "WHERE refused_status IS NOT NULL ORDER BY refused_at DESC LIMIT ?",
        (limit,),
    )
    return [dict(row) for row in rows]


def _values(row: sqlite3.Row, prefix: str) -> Values:
    return (
        int(row[f"{prefix}status"]),
        str(row[f"{prefix}tracking"] or ""),
        str(row[f"{prefix}tracking_status"] or ""),
    )


def _queued(row: sqlite3.Row) -> QueuedStatus:
    return QueuedStatus(
        int(row["order_id"]),
        str(row["ref"]),
        int(row["status"]),
        str(row["tracking"]),
        str(row["tracking_status"]),
        str(row["source"]),
        int(row["line"]),
        str(row["as_of"]),
    )
