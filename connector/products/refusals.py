"""Refused values: reported as durably as they are recorded, and sent again when their cause
may have gone.

Report. A refusal (or an item Alephee gave no clear answer for) adds a line to
``refusal_lines`` in the same transaction that records it; ``publish_pending`` turns pending
lines into ``rejects-alephee-<time>-r<id>.csv`` in outbox/ and only then forgets them. A kill
between the two re-derives the same file name, sees the file, and does not write it twice;
a kill before the file is written writes it on the next run. Nothing is lost.

Retry. A refused value stays in the queue, postponed by ``schedule.refused_retry_hours``
(default 24 h); it is due at once when the settings it was sent with change (account, price
list, base URL) or when the operator runs ``connector retry-refused [SKU...]``.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from connector.cells import safe_text
from connector.config import AlephSettings, Config
from connector.db import atomic, migrate
from connector.fsutil import publish, timestamped_name
from connector.intake.crashpoints import crashpoint
from connector.products import pending
from connector.slots import iso, parse_iso

HEADER = ["sku", "brand", "what", "values sent", "source file", "line", "Alephee says"]
REFUSED = pending.HELD  # the queue's ``reason`` of a refused value waiting for its retry


def init(conn: sqlite3.Connection) -> None:
    migrate(
        conn,
        "refusals_v1",
        [
            "CREATE TABLE refusal_lines (id INTEGER PRIMARY KEY, sku TEXT NOT NULL, "
            "what TEXT NOT NULL, vals TEXT NOT NULL, source TEXT, line INTEGER, "
            "message TEXT NOT NULL, at TEXT NOT NULL)",
            "CREATE TABLE send_context (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        ],
    )
    migrate(  # a product is brand + SKU (connector.products.state)
        conn,
        "refusals_v2_brand",
        ["ALTER TABLE refusal_lines ADD COLUMN brand TEXT NOT NULL DEFAULT ''"],
    )


# -- recording (inside the batch's transaction) -------------------------------------------------


def note(conn: sqlite3.Connection, item: pending.Queued, message: str, now: str) -> None:
    """A report line for ``item``, durable with the refusal it reports."""
    note_many(conn, [(item, message)], now)


def note_many(conn: sqlite3.Connection, lines: list[tuple[pending.Queued, str]], now: str) -> None:
    """``note`` for a whole batch (the lines keep the batch's order)."""
    conn.executemany(
        "INSERT INTO refusal_lines (sku, brand, what, vals, source, line, message, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (i.sku, i.brand, i.group, json.dumps(i.values), i.source, i.line, message, now)
            for i, message in lines
        ),
    )


def postpone(conn: sqlite3.Connection, item: pending.Queued, message: str, due: str) -> None:
    """Keep the refused value queued until ``due`` (its cause may go away)."""
    if pending.matches(conn, item):
        pending.postpone(conn, item, due_at=due, reason=REFUSED, error=message)


# -- retrying ------------------------------------------------------------------------------------


def retry_if_settings_changed(conn: sqlite3.Connection, settings: AlephSettings, now: str) -> int:
    """Refused values are due again when what they were sent with changed (a price list
    re-created, another account): returns how many."""
    current = json.dumps(
        [str(settings.base_url), settings.account_id, settings.price_list_id], sort_keys=True
    )
    row = conn.execute("SELECT value FROM send_context WHERE key = 'settings'").fetchone()
    if row is not None and row["value"] == current:
        return 0  # the usual case: no write at all
    with atomic(conn):
        conn.execute(
            "INSERT OR REPLACE INTO send_context (key, value) VALUES ('settings', ?)", (current,)
        )
        if row is None or row["value"] == current:
            return 0
        return _make_due(conn, now, [])


def retry_refused(conn: sqlite3.Connection, now: datetime, skus: list[str]) -> tuple[int, int]:
    """``connector retry-refused``: refused values due now (all, or these SKUs). Also forgets
    refusals whose values are no longer queued, so the next export sends them again.
    Returns (changes due now, refusals forgotten)."""
    with atomic(conn):
        due = _make_due(conn, iso(now), skus)
        where, args = _sku_filter(skus)
        forgotten = conn.execute(
            f"DELETE FROM refused WHERE {where} AND NOT EXISTS (SELECT 1 FROM queue q "
            "WHERE q.sku = refused.sku AND q.brand = refused.brand AND q.grp = refused.grp)",
            args,
        ).rowcount
    return due, forgotten


def refused_skus(conn: sqlite3.Connection) -> set[str]:
    return {str(r[0]) for r in conn.execute("SELECT DISTINCT sku FROM refused")}


def _make_due(conn: sqlite3.Connection, now: str, skus: list[str]) -> int:
    where, args = _sku_filter(skus)
    # Due since it was queued (never later than now): whatever clock the next run keeps.
    return conn.execute(
        f"UPDATE queue SET due_at = MIN(enqueued_at, ?) WHERE reason = ? AND {where}",
        [now, REFUSED, *args],
    ).rowcount


def _sku_filter(skus: list[str]) -> tuple[str, list[Any]]:
    if not skus:
        return "1 = 1", []
    return f"sku IN ({','.join('?' * len(skus))})", list(skus)


# -- the report ------------------------------------------------------------------------------------


def publish_pending(
    conn: sqlite3.Connection, config: Config, now: datetime
) -> tuple[Path | None, int]:
    """Write every pending line to one report, then forget them: (path, lines)."""
    rows = conn.execute("SELECT * FROM refusal_lines ORDER BY id").fetchall()
    if not rows:
        return None, 0
    first = parse_iso(rows[0]["at"])  # named by its first line: a rerun finds it again
    local = first.astimezone(config.schedule.zone)
    name = timestamped_name("rejects-alephee", f"-r{rows[0]['id']}.csv", local)
    path = config.folders.outbox / name
    if not path.exists():  # else: written before a kill, not yet forgotten
        path = write_refusals(config, [_cells(row) for row in rows], name)
    crashpoint("refusals.after_report")
    with atomic(conn):
        conn.execute("DELETE FROM refusal_lines WHERE id <= ?", (rows[-1]["id"],))
    return path, len(rows)


def _cells(row: sqlite3.Row) -> list[str]:
    return [
        row["sku"],
        row["brand"],
        row["what"],
        json.dumps(json.loads(row["vals"]), sort_keys=True),
        row["source"] or "",
        str(row["line"] or ""),
        row["message"],
    ]


def write_refusals(config: Config, rows: list[list[str]], name: str) -> Path:
    delimiter = "," if config.outbox.locale == "en-US" else ";"
    decimal = "." if config.outbox.locale == "en-US" else ","
    for row in rows:
        row[3] = _values(json.loads(row[3]), decimal)

    def write(handle: BinaryIO) -> None:
        text = io.StringIO(newline="")
        writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows([[safe_text(cell) for cell in row] for row in rows])
        handle.write(text.getvalue().encode("utf-8-sig"))

    return publish(config.folders.outbox, name, write)


def _values(values: dict[str, int], decimal: str) -> str:
    parts = []
    for col, value in sorted(values.items()):
        if col == "quantity":
            parts.append(f"stock {value}")
        else:
            amount = f"{value / 10_000:.4f}".rstrip("0").rstrip(".").replace(".", decimal)
            parts.append(f"{col.removesuffix('_e4').replace('_', ' ')} {amount}")
    return " / ".join(parts)
