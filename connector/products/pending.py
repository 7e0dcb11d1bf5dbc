"""The durable change queue: what still has to reach Alephee, one row per (SKU, group).

A newer value for a SKU still waiting replaces the older one (coalescing), keeping the earliest
due time when the new change is more urgent. Rows leave the queue only inside the same
transaction that records Alephee's answer for them (see ``sync.send_due``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from connector.db import migrate
from connector.products.diff import ALL_FIELDS, column

VALUE_COLUMNS = [column(f) for f in ALL_FIELDS]


def init(conn: sqlite3.Connection) -> None:
    cols = ", ".join(f"{c} INTEGER" for c in VALUE_COLUMNS)
    migrate(
        conn,
        "queue_v1",
        [
            f"CREATE TABLE queue (sku TEXT NOT NULL, grp TEXT NOT NULL, brand TEXT, {cols}, "
            "due_at TEXT NOT NULL, reason TEXT NOT NULL, source TEXT, line INTEGER, "
            "as_of TEXT NOT NULL, enqueued_at TEXT NOT NULL, attempts INTEGER NOT NULL "
            "DEFAULT 0, last_error TEXT, PRIMARY KEY (sku, grp))",
            "CREATE INDEX queue_due ON queue (due_at)",
        ],
    )


@dataclass(frozen=True)
class Queued:
    sku: str
    group: str
    brand: str
    values: dict[str, int]
    due_at: str
    source: str
    line: int
    as_of: str


def enqueue(
    conn: sqlite3.Connection, rows: pd.DataFrame, group: str, *, source: str, as_of: str, now: str
) -> int:
    """Upsert changed rows (columns: sku, brand, line, value columns, due_at, reason)."""
    present = [c for c in VALUE_COLUMNS if c in rows.columns]
    names = [
        "sku",
        "grp",
        "brand",
        *present,
        "due_at",
        "reason",
        "source",
        "line",
        "as_of",
        "enqueued_at",
    ]
    keep_earliest = "due_at = MIN(queue.due_at, excluded.due_at)"
    updates = ", ".join(
        [f"{c} = excluded.{c}" for c in [*present, "brand", "reason", "source", "line", "as_of"]]
        + [keep_earliest, "attempts = 0", "last_error = NULL"]
    )
    sql = (
        f"INSERT INTO queue ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "
        f"ON CONFLICT(sku, grp) DO UPDATE SET {updates}"
    )
    conn.executemany(sql, _params(rows, group, present, source, as_of, now))
    return len(rows)


def _params(
    rows: pd.DataFrame, group: str, present: list[str], source: str, as_of: str, now: str
) -> Iterator[list[Any]]:
    for record in rows.to_dict("records"):
        values = [None if pd.isna(record[c]) else int(record[c]) for c in present]
        yield [
            record["sku"],
            group,
            record.get("brand") or "",
            *values,
            record["due_at"],
            record["reason"],
            source,
            int(record["line"]),
            as_of,
            now,
        ]


def due(conn: sqlite3.Connection, now: str, *, chunk: int = 5_000) -> Iterator[list[Queued]]:
    """Due rows in chunks of SKUs (both groups of a SKU in the same chunk), keyset by SKU so a
    million queued changes never sit in memory at once."""
    last = ""
    while True:
        skus = [
            str(row[0])
            for row in conn.execute(
                "SELECT DISTINCT sku FROM queue WHERE due_at <= ? AND sku > ? ORDER BY sku LIMIT ?",
                (now, last, chunk),
            )
        ]
        if not skus:
            return
        marks = ",".join("?" * len(skus))
        rows = conn.execute(
            f"SELECT * FROM queue WHERE due_at <= ? AND sku IN ({marks}) ORDER BY sku, grp",
            (now, *skus),
        ).fetchall()
        yield [_queued(row) for row in rows]
        last = skus[-1]


def _queued(row: sqlite3.Row) -> Queued:
    values = {c: int(row[c]) for c in VALUE_COLUMNS if row[c] is not None}
    return Queued(
        row["sku"],
        row["grp"],
        row["brand"] or "",
        values,
        row["due_at"],
        row["source"] or "",
        int(row["line"] or 0),
        row["as_of"],
    )


def matches(conn: sqlite3.Connection, item: Queued) -> bool:
    """Is this exact value still the queued one? (a newer value may have replaced it)"""
    row = conn.execute("SELECT * FROM queue WHERE sku = ? AND grp = ?", (item.sku, item.group))
    found = row.fetchone()
    return found is not None and _queued(found).values == item.values


def remove(conn: sqlite3.Connection, item: Queued) -> None:
    conn.execute("DELETE FROM queue WHERE sku = ? AND grp = ?", (item.sku, item.group))


def failed_attempt(conn: sqlite3.Connection, item: Queued, error: str) -> None:
    conn.execute(
        "UPDATE queue SET attempts = attempts + 1, last_error = ? WHERE sku = ? AND grp = ?",
        (error, item.sku, item.group),
    )


# -- refused values wait for their retry (connector.products.refusals) --


def postpone(
    conn: sqlite3.Connection, item: Queued, *, due_at: str, reason: str, error: str
) -> None:
    conn.execute(
        "UPDATE queue SET due_at = ?, reason = ?, last_error = ?, attempts = attempts + 1 "
        "WHERE sku = ? AND grp = ?",
        (due_at, reason, error, item.sku, item.group),
    )


# --


def summary(conn: sqlite3.Connection, now: str) -> dict[str, Any]:
    """Counts for status: due now, deferred, and when the next deferred ones go."""
    row = conn.execute(
        "SELECT SUM(due_at <= ?) AS due, SUM(due_at > ?) AS deferred, "
        "MIN(CASE WHEN due_at > ? THEN due_at END) AS next_at FROM queue",
        (now, now, now),
    ).fetchone()
    by_group = dict(conn.execute("SELECT grp, COUNT(*) FROM queue GROUP BY grp").fetchall())
    return {
        "due": int(row["due"] or 0),
        "deferred": int(row["deferred"] or 0),
        "next_deferred_at": row["next_at"],
        "by_group": {str(k): int(v) for k, v in by_group.items()},
    }
