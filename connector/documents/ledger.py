"""The documents ledger: which file content went to which order, and how far it got.

One row per content (sha256): ``uploading`` is committed *before* the POST, ``attached`` after
Alephee's answer, ``failed`` when the file could not be used or Alephee refused it. A row still
``uploading`` at the next attempt means a crash (or an unknown outcome) between the upload and
the record: the order's documents are then read back from Alephee before anything is sent, so
a content is attached exactly once.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from connector.db import atomic, migrate


def init(conn: sqlite3.Connection) -> None:
    migrate(
        conn,
        "documents_v1",
        [
            "CREATE TABLE documents (sha256 TEXT PRIMARY KEY, name TEXT NOT NULL, "
            "order_id INTEGER, doc_type TEXT NOT NULL, size INTEGER NOT NULL, "
            "state TEXT NOT NULL, message TEXT, updated_at TEXT NOT NULL)"
        ],
    )


@dataclass(frozen=True)
class Entry:
    sha256: str
    name: str
    order_id: int | None
    state: str


def find(conn: sqlite3.Connection, sha256: str) -> Entry | None:
    row = conn.execute("SELECT * FROM documents WHERE sha256 = ?", (sha256,)).fetchone()
    if row is None:
        return None
    order_id = int(row["order_id"]) if row["order_id"] is not None else None
    return Entry(str(row["sha256"]), str(row["name"]), order_id, str(row["state"]))


def record(
    conn: sqlite3.Connection,
    sha256: str,
    name: str,
    order_id: int | None,
    doc_type: str,
    size: int,
    state: str,
    now: str,
    message: str = "",
) -> None:
    with atomic(conn):
        conn.execute(
            "INSERT OR REPLACE INTO documents (sha256, name, order_id, doc_type, size, state, "
            "message, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (sha256, name, order_id, doc_type, size, state, message, now),
        )


def summary(conn: sqlite3.Connection) -> dict[str, Any]:
    counts = dict(conn.execute("SELECT state, COUNT(*) FROM documents GROUP BY state").fetchall())
    failed = conn.execute(
        "SELECT name, order_id, message, updated_at FROM documents WHERE state = 'failed' "
        "ORDER BY updated_at DESC LIMIT 10"
    ).fetchall()
    return {
        "attached": int(counts.get("attached", 0)),
        "uploading": int(counts.get("uploading", 0)),
        "failed": int(counts.get("failed", 0)),
        "recent_failures": [dict(row) for row in failed],
    }
