"""The durable change queue: what still has to reach Alephee, one row per (product, group),
a product being brand + SKU.

The queue always holds the latest export's intent: a newer value replaces the older one
(coalescing), keeping the earlier due time when the new change is more urgent, and an export
that goes back to the accepted value removes the queued change (``drop``): nothing superseded
is ever sent. Rows leave the queue otherwise only inside the same transaction that records
Alephee's answer for them (see ``sync.send_due``). ``Window`` says which rows are due.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported where a table is built: an idle pass never loads it
    import pandas as pd

from connector.config import ScheduleSettings
from connector.db import atomic, migrate
from connector.db import frame as db_frame
from connector.products.diff import ALL_FIELDS, PRICE, STOCK, column
from connector.products.snapshot import KEY, Key, missing
from connector.slots import in_night, iso, next_night_start

VALUE_COLUMNS = [column(f) for f in ALL_FIELDS]


def init(conn: sqlite3.Connection) -> None:
    """The first version (keyed by SKU alone); ``products.state`` upgrades it."""
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

    @property
    def key(self) -> Key:
        return (self.sku, self.brand)


HELD = "refused"  # the ``reason`` of a refused value held until its retry (products.refusals)


@dataclass(frozen=True)
class Window:
    """The moment the queue is read, and what that means for changes held for the night.

    A change of the ``night`` slot goes during the night slot once its ``due_at`` has come. If
    its night passed while the connector did not run, it waits for the next night (not the next
    day run) unless it has been waiting longer than ``schedule.deferred_max_wait_hours``. A
    group whose policy is now ``now`` (``schedule.*_changes``) goes at once."""

    now: str
    night: bool
    waited_since: str  # changes queued at or before this have waited long enough
    next_night: str
    now_groups: tuple[str, ...]

    @classmethod
    def at(cls, moment: datetime, schedule: ScheduleSettings) -> Window:
        policies = {STOCK: schedule.stock_changes, PRICE: schedule.price_changes}
        return cls(
            now=iso(moment),
            night=in_night(moment, schedule),
            waited_since=iso(moment - timedelta(hours=schedule.deferred_max_wait_hours)),
            next_night=iso(next_night_start(moment, schedule)),
            now_groups=tuple(g for g, policy in policies.items() if policy == "now"),
        )

    def is_ready(self, row: Mapping[str, Any]) -> bool:
        """``ready`` for one queue row read as a mapping (the dry run's plan)."""
        held = row["reason"] == HELD  # a refused value waits for its retry time, nothing else
        late = row["slot"] == "night" and row["enqueued_at"] <= self.waited_since and not held
        if self.night:
            return bool(row["due_at"] <= self.now or late)
        on_time = row["slot"] == "now" and row["due_at"] <= self.now
        return bool(on_time or late or (row["grp"] in self.now_groups and not held))

    def goes_at(self, row: Mapping[str, Any]) -> str:
        """When a row that is not ready goes (a missed night: the next one)."""
        return str(row["due_at"]) if row["due_at"] > self.now else self.next_night

    def ready(self) -> tuple[str, list[str]]:
        """SQL condition (and its parameters) for "the next run sends this row"."""
        late = f"(slot = 'night' AND enqueued_at <= ? AND reason <> '{HELD}')"
        if self.night:
            return f"(due_at <= ? OR {late})", [self.now, self.waited_since]
        groups = ", ".join("?" * len(self.now_groups)) or "NULL"
        return (
            f"((slot = 'now' AND due_at <= ?) OR {late} "
            f"OR (grp IN ({groups}) AND reason <> '{HELD}'))",
            [self.now, self.waited_since, *self.now_groups],
        )


def enqueue(
    conn: sqlite3.Connection, rows: pd.DataFrame, group: str, *, source: str, as_of: str, now: str
) -> int:
    """Upsert changed rows (columns: sku, brand, line, value columns, due_at, slot, reason).
    The row's values replace the queued ones; the more urgent due time and slot are kept."""
    present = [c for c in VALUE_COLUMNS if c in rows.columns]
    names = [*KEY, "grp", *present, "due_at", "slot", "reason", "source", "line", "as_of"]
    names.append("enqueued_at")
    keep_urgent = [
        "due_at = MIN(queue.due_at, excluded.due_at)",
        "slot = CASE WHEN 'now' IN (queue.slot, excluded.slot) THEN 'now' ELSE 'night' END",
    ]
    updates = ", ".join(
        [f"{c} = excluded.{c}" for c in [*present, "reason", "source", "line", "as_of"]]
        + keep_urgent
        + ["attempts = 0", "last_error = NULL"]
    )
    sql = (
        f"INSERT INTO queue ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "
        f"ON CONFLICT(sku, brand, grp) DO UPDATE SET {updates}"
    )
    conn.executemany(sql, _params(rows, group, present, source, as_of, now))
    return len(rows)


ENQUEUE_CHUNK = 50_000  # rows turned into SQL parameters at a time: memory stays bounded


def _params(
    rows: pd.DataFrame, group: str, present: list[str], source: str, as_of: str, now: str
) -> Iterator[list[Any]]:
    """The rows as SQL parameters, one chunk of plain columns at a time: a million rows never
    become a million dicts (``to_dict("records")`` cost 30 s and the whole 1.17 GB peak)."""
    for start in range(0, len(rows), ENQUEUE_CHUNK):
        part = rows.iloc[start : start + ENQUEUE_CHUNK]
        values = [_cells(part, c, integer=True) for c in present]
        brands = [brand or "" for brand in _cells(part, "brand")]
        lines = _cells(part, "line", integer=True)
        plain = zip(_cells(part, "sku"), brands, _cells(part, "due_at"), strict=True)
        timing = zip(_cells(part, "slot"), _cells(part, "reason"), lines, strict=True)
        for (sku, brand, due_at), (slot, reason, line), *cells in zip(
            plain, timing, *values, strict=True
        ):
            yield [sku, brand, group, *cells, due_at, slot, reason, source, line, as_of, now]


def _cells(part: pd.DataFrame, name: str, *, integer: bool = False) -> list[Any]:
    """One column of a chunk as Python values, a missing value (NA, NaN) as None."""
    if name not in part.columns:
        return [None] * len(part)
    cells = part[name].to_numpy(dtype=object)
    if integer:
        return [None if missing(v) else int(v) for v in cells]
    return [None if missing(v) else v for v in cells]


def queued(conn: sqlite3.Connection, group: str, cols: list[str]) -> pd.DataFrame:
    """The queued values of one group (sku, brand, ``cols``, as_of, sent_at), ``cols`` as
    nullable integers."""
    names = ", ".join([*KEY, *cols, "as_of", "sent_at"])
    frame = db_frame(conn, f"SELECT {names} FROM queue WHERE grp = ?", (group,))
    for col in cols:
        frame[col] = frame[col].astype("Int64")
    for col in KEY:
        frame[col] = frame[col].astype(str)
    return frame


def drop(conn: sqlite3.Connection, keys: Iterable[Key], group: str) -> int:
    """Remove queued changes a newer export made pointless (superseded)."""
    cursor = conn.executemany(
        "DELETE FROM queue WHERE sku = ? AND brand = ? AND grp = ?",
        ((sku, brand, group) for sku, brand in keys),
    )
    return max(cursor.rowcount, 0)


def mark_sent(conn: sqlite3.Connection, items: Iterable[Queued], now: str) -> None:
    """Before a POST: these values may reach Alephee from now on, answer or not. Until an
    answer is recorded, a newer export cannot simply drop them (``ingest``): it re-sends."""
    with atomic(conn):
        conn.executemany(
            "UPDATE queue SET sent_at = COALESCE(sent_at, ?) WHERE sku = ? AND brand = ? "
            "AND grp = ?",
            ((now, item.sku, item.brand, item.group) for item in items),
        )


def due(conn: sqlite3.Connection, window: Window, *, chunk: int = 5_000) -> Iterator[list[Queued]]:
    """Rows the window makes ready, in chunks of SKUs (every brand and group of a SKU in the
    same chunk), keyset by SKU so a million queued changes never sit in memory at once."""
    ready, params = window.ready()
    last = ""
    while True:
        skus = [
            str(row[0])
            for row in conn.execute(
                f"SELECT DISTINCT sku FROM queue WHERE {ready} AND sku > ? ORDER BY sku LIMIT ?",
                (*params, last, chunk),
            )
        ]
        if not skus:
            return
        marks = ",".join("?" * len(skus))
        rows = conn.execute(
            f"SELECT * FROM queue WHERE {ready} AND sku IN ({marks}) ORDER BY sku, brand, grp",
            (*params, *skus),
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


def _where_item(item: Queued) -> tuple[str, tuple[str, str, str]]:
    return "sku = ? AND brand = ? AND grp = ?", (item.sku, item.brand, item.group)


def matches(conn: sqlite3.Connection, item: Queued) -> bool:
    """Is this exact value still the queued one? (a newer value may have replaced it)"""
    where, params = _where_item(item)
    found = conn.execute(f"SELECT * FROM queue WHERE {where}", params).fetchone()
    return found is not None and _queued(found).values == item.values


def remove(conn: sqlite3.Connection, item: Queued) -> None:
    where, params = _where_item(item)
    conn.execute(f"DELETE FROM queue WHERE {where}", params)


def remove_unchanged(conn: sqlite3.Connection, items: Iterable[Queued]) -> int:
    """Remove these changes where the queue still holds exactly their values (``matches``
    then ``remove`` for a whole batch): a value a newer export put there meanwhile stays."""
    same = " AND ".join(f"{c} IS ?" for c in VALUE_COLUMNS)
    cursor = conn.executemany(
        f"DELETE FROM queue WHERE sku = ? AND brand = ? AND grp = ? AND {same}",
        (
            (item.sku, item.brand, item.group, *(item.values.get(c) for c in VALUE_COLUMNS))
            for item in items
        ),
    )
    return max(cursor.rowcount, 0)


def failed_attempts(conn: sqlite3.Connection, failed: Iterable[tuple[Queued, str]]) -> None:
    """``failed_attempt`` for a whole batch."""
    conn.executemany(
        "UPDATE queue SET attempts = attempts + 1, last_error = ? "
        "WHERE sku = ? AND brand = ? AND grp = ?",
        ((error, item.sku, item.brand, item.group) for item, error in failed),
    )


def failed_attempt(conn: sqlite3.Connection, item: Queued, error: str) -> None:
    where, params = _where_item(item)
    conn.execute(
        f"UPDATE queue SET attempts = attempts + 1, last_error = ? WHERE {where}",
        (error, *params),
    )


def summary(conn: sqlite3.Connection, window: Window) -> dict[str, Any]:
    """Counts for status and the run: due now (the next run sends them), deferred (waiting for
    their slot), how many missed their night slot (they wait for the next one), when the next
    deferred ones go, and the refused values held until their retry (not deferred: Alephee
    refused them, and the refusals report says why)."""
    ready, params = window.ready()
    waits = f"NOT {ready} AND reason <> '{HELD}'"
    held = f"NOT {ready} AND reason = '{HELD}'"
    goes = f"CASE WHEN due_at > ? THEN due_at ELSE '{window.next_night}' END"
    row = conn.execute(
        f"SELECT SUM({ready}) AS due, SUM({waits}) AS deferred, "
        f"SUM({waits} AND due_at <= ?) AS missed, "
        f"MIN(CASE WHEN {waits} THEN {goes} END) AS next_at, "
        f"SUM({held}) AS held, MIN(CASE WHEN {held} THEN due_at END) AS next_retry FROM queue",
        (*params, *params, *params, window.now, *params, window.now, *params, *params),
    ).fetchone()
    by_group = dict(conn.execute("SELECT grp, COUNT(*) FROM queue GROUP BY grp").fetchall())
    due_by_group = dict(
        conn.execute(f"SELECT grp, COUNT(*) FROM queue WHERE {ready} GROUP BY grp", params)
    )
    held_by_group = dict(
        conn.execute(f"SELECT grp, COUNT(*) FROM queue WHERE {held} GROUP BY grp", params)
    )
    return {
        "due": int(row["due"] or 0),
        "deferred": int(row["deferred"] or 0),
        "missed_night": int(row["missed"] or 0),
        "next_deferred_at": row["next_at"],
        "held_refused": int(row["held"] or 0),
        "next_retry_at": row["next_retry"],
        "by_group": {str(k): int(v) for k, v in by_group.items()},
        "due_by_group": {str(k): int(v) for k, v in due_by_group.items()},
        "held_by_group": {str(k): int(v) for k, v in held_by_group.items()},
    }


def products_due(conn: sqlite3.Connection, window: Window) -> int:
    """Products (brand + SKU) with a change the window makes ready: what a send will carry."""
    ready, params = window.ready()
    row = conn.execute(
        f"SELECT COUNT(*) FROM (SELECT DISTINCT sku, brand FROM queue WHERE {ready})", params
    ).fetchone()
    return int(row[0])


def upcoming(conn: sqlite3.Connection, window: Window, limit: int) -> list[tuple[str, str, int]]:
    """Deferred changes by (the time they go, group), soonest first; held refusals are not
    deferred (``summary``)."""
    ready, params = window.ready()
    goes = f"CASE WHEN due_at > ? THEN due_at ELSE '{window.next_night}' END"
    rows = conn.execute(
        f"SELECT {goes} AS at, grp, COUNT(*) AS n FROM queue WHERE NOT {ready} "
        f"AND reason <> '{HELD}' GROUP BY at, grp ORDER BY at LIMIT ?",
        (window.now, *params, limit),
    )
    return [(str(r["at"]), str(r["grp"]), int(r["n"])) for r in rows]


# -- refused values wait for their retry (connector.products.refusals) --


def postpone(
    conn: sqlite3.Connection, item: Queued, *, due_at: str, reason: str, error: str
) -> None:
    where, args = _where_item(item)
    conn.execute(
        "UPDATE queue SET due_at = ?, reason = ?, last_error = ?, attempts = attempts + 1 "
        f"WHERE {where}",
        (due_at, reason, error, *args),
    )
