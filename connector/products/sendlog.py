"""How far the current (or last) send got: products sent of those due, POST calls, and the
calls per minute observed, recorded per batch so that ``connector status`` can say "sending:
N of M products, about T left at C calls/min" while a run is busy and after it.

One row per send (``send_progress``); a batch's row is updated in the batch's own transaction
(``outcomes.BatchSender``), so the figures never run ahead of the recorded state. Only the
last few sends are kept.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from connector.db import atomic, migrate
from connector.slots import iso, parse_iso

KEEP = 5  # sends kept


def init(conn: sqlite3.Connection) -> None:
    migrate(
        conn,
        "send_progress_v1",
        [
            "CREATE TABLE send_progress (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, "
            "total INTEGER NOT NULL, done INTEGER NOT NULL DEFAULT 0, calls INTEGER NOT NULL "
            "DEFAULT 0, batch INTEGER NOT NULL, updated_at TEXT NOT NULL, finished_at TEXT, "
            "slot_ends_at TEXT)"
        ],
    )


@dataclass(frozen=True)
class SendProgress:
    started_at: str
    total: int  # products due when the send started
    done: int  # products whose answer is recorded
    calls: int  # POST /v2/products calls so far (splits and 413s included)
    batch: int  # products per call when it started
    updated_at: str
    finished_at: str | None
    slot_ends_at: str | None  # the night slot it runs in ends then (None: a day send)

    @property
    def left(self) -> int:
        return max(self.total - self.done, 0)

    def calls_per_minute(self) -> float | None:
        """Observed from the first call to the last recorded batch; None before a minute's
        worth of evidence exists (one batch says nothing about the pace)."""
        seconds = (parse_iso(self.updated_at) - parse_iso(self.started_at)).total_seconds()
        if self.calls < 2 or seconds <= 0:
            return None
        return self.calls * 60 / seconds

    def seconds_left(self) -> float | None:
        rate = self.calls_per_minute()
        if rate is None or self.done == 0:
            return None
        per_call = self.done / self.calls  # products per call as observed (413s included)
        return math.ceil(self.left / per_call) / rate * 60


def start(
    conn: sqlite3.Connection, now: datetime, total: int, batch: int, slot_ends: datetime | None
) -> int:
    """A new send of ``total`` products; returns its id (older sends beyond KEEP go)."""
    with atomic(conn):
        cursor = conn.execute(
            "INSERT INTO send_progress (started_at, total, batch, updated_at, slot_ends_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (iso(now), total, batch, iso(now), iso(slot_ends) if slot_ends else None),
        )
        conn.execute(
            "DELETE FROM send_progress WHERE id <= (SELECT MAX(id) FROM send_progress) - ?",
            (KEEP,),
        )
    return int(cursor.lastrowid or 0)


def advance(conn: sqlite3.Connection, send: int, products: int, calls: int, now: datetime) -> None:
    """A recorded batch (call inside the batch's transaction)."""
    conn.execute(
        "UPDATE send_progress SET done = done + ?, calls = ?, updated_at = ? WHERE id = ?",
        (products, calls, iso(now), send),
    )


def finish(conn: sqlite3.Connection, send: int, now: datetime) -> None:
    with atomic(conn):
        conn.execute("UPDATE send_progress SET finished_at = ? WHERE id = ?", (iso(now), send))


def latest(conn: sqlite3.Connection) -> SendProgress | None:
    try:
        row = conn.execute("SELECT * FROM send_progress ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.OperationalError:  # a state folder no send has touched yet
        return None
    if row is None:
        return None
    return SendProgress(
        row["started_at"],
        row["total"],
        row["done"],
        row["calls"],
        row["batch"],
        row["updated_at"],
        row["finished_at"],
        row["slot_ends_at"],
    )


def duration(seconds: float) -> str:
    """``2 h 05 min``, ``12 min``, ``40 s``: a person's estimate, not a stopwatch."""
    if seconds < 60:
        return f"{max(int(seconds), 1)} s"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def estimate(progress: SendProgress | None) -> str:
    """``about 2 h 05 min left at 30 calls/min``; empty until the pace is known."""
    if progress is None:
        return ""
    rate, left = progress.calls_per_minute(), progress.seconds_left()
    if rate is None or left is None:
        return ""
    if progress.left == 0:
        return f"done at {rate:,.0f} calls/min"
    return f"about {duration(left)} left at {rate:,.0f} calls/min"
