"""The orders ledger: which order went into which outbox file and line, and whether Alephee
acknowledged the integrated mark. It is what makes the order side exactly-once.

Outbox files get their final name *before* they are written (``orders-<time>-<n>.csv``), so a
crash between publishing the file and recording it is recovered by looking for that exact file:
present means written (publish is atomic), absent means write again. States of an order:
``planned`` -> ``written`` -> ``marked`` (or ``not_found`` when Alephee does not know it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from connector.db import atomic, migrate
from connector.fsutil import rename


def init(conn: sqlite3.Connection) -> None:
    migrate(
        conn,
        "orders_v1",
        [
            "CREATE TABLE outbox_files (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, "
            "name TEXT NOT NULL, state TEXT NOT NULL, created_at TEXT NOT NULL)",
            "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, own_order_id TEXT NOT NULL, "
            "state TEXT NOT NULL, file_id INTEGER REFERENCES outbox_files(id), line INTEGER, "
            "cancelled_on_arrival INTEGER NOT NULL DEFAULT 0, written_at TEXT, marked_at TEXT, "
            "message TEXT)",
            "CREATE TABLE cancellations (order_id INTEGER NOT NULL, item_id INTEGER NOT NULL, "
            "file_id INTEGER REFERENCES outbox_files(id), line INTEGER, state TEXT NOT NULL, "
            "PRIMARY KEY (order_id, item_id))",
            "CREATE TABLE cycles (name TEXT PRIMARY KEY, last_run_at TEXT NOT NULL)",
        ],
    )


@dataclass(frozen=True)
class Planned:
    file_id: int
    name: str


def plan_file(conn: sqlite3.Connection, kind: str, stamp: str, now: str) -> Planned:
    """Reserve a unique outbox name (call inside ``atomic``)."""
    cur = conn.execute(
        "INSERT INTO outbox_files (kind, name, state, created_at) VALUES (?, '', 'planned', ?)",
        (kind, now),
    )
    file_id = int(cur.lastrowid or 0)
    name = f"{kind}-{stamp}-{file_id}"
    conn.execute("UPDATE outbox_files SET name = ? WHERE id = ?", (name, file_id))
    return Planned(file_id, name)


def plan_orders(
    conn: sqlite3.Connection, file_id: int, rows: Iterable[tuple[int, str, int, bool]]
) -> None:
    """rows: (order_id, own_order_id, first line in the file, cancelled on arrival)."""
    conn.executemany(
        "INSERT OR REPLACE INTO orders (order_id, own_order_id, state, file_id, line, "
        "cancelled_on_arrival) VALUES (?, ?, 'planned', ?, ?, ?)",
        [(oid, own, file_id, line, int(cancelled)) for oid, own, line, cancelled in rows],
    )


def plan_cancellations(
    conn: sqlite3.Connection, file_id: int, rows: Iterable[tuple[int, int, int]]
) -> None:
    """rows: (order_id, item_id (0 = the whole order), line)."""
    conn.executemany(
        "INSERT OR REPLACE INTO cancellations (order_id, item_id, file_id, line, state) "
        "VALUES (?, ?, ?, ?, 'planned')",
        [(oid, item, file_id, line) for oid, item, line in rows],
    )


def confirm_file(conn: sqlite3.Connection, file_id: int, now: str) -> None:
    with atomic(conn):
        conn.execute("UPDATE outbox_files SET state = 'written' WHERE id = ?", (file_id,))
        conn.execute(
            "UPDATE orders SET state = 'written', written_at = ? WHERE file_id = ? "
            "AND state = 'planned'",
            (now, file_id),
        )
        conn.execute(
            "UPDATE cancellations SET state = 'written' WHERE file_id = ? AND state = 'planned'",
            (file_id,),
        )


def drop_file(conn: sqlite3.Connection, file_id: int) -> None:
    with atomic(conn):
        conn.execute("DELETE FROM orders WHERE file_id = ? AND state = 'planned'", (file_id,))
        conn.execute(
            "DELETE FROM cancellations WHERE file_id = ? AND state = 'planned'", (file_id,)
        )
        conn.execute("DELETE FROM outbox_files WHERE id = ?", (file_id,))


def recover(conn: sqlite3.Connection, outbox: Path, now: str) -> tuple[int, int]:
    """Settle files planned by a run that died: (confirmed, dropped)."""
    confirmed = dropped = 0
    rows = conn.execute("SELECT id, kind, name FROM outbox_files WHERE state = 'planned'")
    planned = {int(r["id"]): (str(r["kind"]), str(r["name"])) for r in rows.fetchall()}
    present = {fid: _published(outbox, name) for fid, (_, name) in planned.items()}
    for file_id, (kind, _) in sorted(planned.items()):
        partner = file_id + 1  # a lines file is planned just before its orders file
        if kind == "order-lines" and present[file_id] and not present.get(partner, True):
            # Lines without their orders file: the orders are written again, so set these aside.
            for path in present[file_id]:
                rename(path, path.with_name(path.name + ".orphan"))
            present[file_id] = []
        if present[file_id]:
            confirm_file(conn, file_id, now)
            confirmed += 1
        else:
            drop_file(conn, file_id)
            dropped += 1
    return confirmed, dropped


def _published(outbox: Path, name: str) -> list[Path]:
    return [p for p in (outbox / f"{name}.csv", outbox / f"{name}.xlsx") if p.exists()]


def known(conn: sqlite3.Connection, order_ids: Iterable[int]) -> dict[int, str]:
    """order_id -> state, for the orders the ledger has."""
    ids = list(order_ids)
    found: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(
            f"SELECT order_id, state FROM orders WHERE order_id IN ({marks})", chunk
        ):
            found[int(row["order_id"])] = str(row["state"])
    return found


def unmarked(conn: sqlite3.Connection) -> list[tuple[int, str]]:
    """Written orders whose integrated mark Alephee has not acknowledged yet."""
    rows = conn.execute("SELECT order_id, own_order_id FROM orders WHERE state = 'written'")
    return [(int(r["order_id"]), str(r["own_order_id"])) for r in rows]


def set_marked(conn: sqlite3.Connection, order_id: int, state: str, message: str, now: str) -> None:
    conn.execute(
        "UPDATE orders SET state = ?, marked_at = ?, message = ? WHERE order_id = ?",
        (state, now, message, order_id),
    )


def cancelled_items(conn: sqlite3.Connection, order_id: int) -> set[int]:
    rows = conn.execute("SELECT item_id FROM cancellations WHERE order_id = ?", (order_id,))
    return {int(r["item_id"]) for r in rows}


def last_run(conn: sqlite3.Connection, name: str) -> str | None:
    row = conn.execute("SELECT last_run_at FROM cycles WHERE name = ?", (name,)).fetchone()
    return str(row["last_run_at"]) if row else None


def set_last_run(conn: sqlite3.Connection, name: str, at: str) -> None:
    with atomic(conn):
        conn.execute("INSERT OR REPLACE INTO cycles (name, last_run_at) VALUES (?, ?)", (name, at))


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    rows = conn.execute("SELECT state, COUNT(*) FROM orders GROUP BY state").fetchall()
    result = {str(r[0]): int(r[1]) for r in rows}
    result["cancellations"] = int(conn.execute("SELECT COUNT(*) FROM cancellations").fetchone()[0])
    return result
