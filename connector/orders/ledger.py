"""The orders ledger: which order went into which outbox file and line, and whether Alephee
acknowledged the integrated mark. It is what makes the order side exactly-once.

The ledger, not the outbox folder, says what was written: the ERP or an accountant may move a
published file away at any moment, so "file absent" can never mean "never written". A file
goes through three states: ``planned`` (final name reserved, orders recorded as planned, in one
transaction) -> the content is staged under a hidden name and fsynced -> ``committed`` (one
transaction: the orders are now ``written``; this is the commit point) -> the staged file is
renamed to its final name -> ``written``. ``recover`` finishes a run that died: a planned
file is dropped (its orders are fetched again, as Alephee still lists them), a committed one
is promoted if its staged copy is still there and otherwise was promoted already.
Order states: ``planned`` -> ``written`` -> ``marked`` (or ``not_found`` when Alephee kept
saying it does not know the order after every re-check).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from connector.db import atomic, migrate
from connector.fsutil import discard_staged, promote

EXTENSIONS = (".csv", ".xlsx")
NOT_FOUND_RECHECKS = 5  # "Order not found" answers (each re-checked with GET) before giving up


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
    migrate(
        conn,
        "orders_v2_not_found",
        ["ALTER TABLE orders ADD COLUMN not_found_count INTEGER NOT NULL DEFAULT 0"],
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
    conn: sqlite3.Connection, file_id: int, rows: Iterable[tuple[int, int, int | None]]
) -> None:
    """rows: (order_id, item_id (0 = the whole order), line). Line None: an item cancelled
    before the order arrived, left out of the orders file and never written as cancelled."""
    conn.executemany(
        "INSERT OR REPLACE INTO cancellations (order_id, item_id, file_id, line, state) "
        "VALUES (?, ?, ?, ?, 'planned')",
        [(oid, item, file_id, line) for oid, item, line in rows],
    )


def commit_files(conn: sqlite3.Connection, file_ids: list[int], now: str) -> None:
    """The commit point: the staged files' orders and cancellations are written, whatever
    later happens to the files themselves."""
    with atomic(conn):
        for file_id in file_ids:
            conn.execute("UPDATE outbox_files SET state = 'committed' WHERE id = ?", (file_id,))
            _settle_entries(conn, file_id, now)


def _settle_entries(conn: sqlite3.Connection, file_id: int, now: str) -> None:
    conn.execute(
        "UPDATE orders SET state = 'written', written_at = ? WHERE file_id = ? "
        "AND state = 'planned'",
        (now, file_id),
    )
    conn.execute(
        "UPDATE cancellations SET state = 'written' WHERE file_id = ? AND state = 'planned'",
        (file_id,),
    )


def finish_file(conn: sqlite3.Connection, outbox: Path, file_id: int, name: str) -> None:
    """Give a committed file its final name (if still staged) and record it as published."""
    for extension in EXTENSIONS:
        promote(outbox, name + extension)
    with atomic(conn):
        conn.execute("UPDATE outbox_files SET state = 'written' WHERE id = ?", (file_id,))


def drop_file(conn: sqlite3.Connection, outbox: Path, file_id: int, name: str) -> None:
    for extension in EXTENSIONS:
        discard_staged(outbox, name + extension)
    with atomic(conn):
        conn.execute("DELETE FROM orders WHERE file_id = ? AND state = 'planned'", (file_id,))
        conn.execute(
            "DELETE FROM cancellations WHERE file_id = ? AND state = 'planned'", (file_id,)
        )
        conn.execute("DELETE FROM outbox_files WHERE id = ?", (file_id,))


def recover(conn: sqlite3.Connection, outbox: Path, now: str) -> tuple[int, int]:
    """Settle files of a run that died: (finished, dropped). Never looks at whether a final
    file is present to decide what was written: the ERP may have moved it."""
    finished = dropped = 0
    rows = conn.execute(
        "SELECT id, name, state FROM outbox_files WHERE state IN ('planned', 'committed') "
        "ORDER BY id"
    ).fetchall()
    for row in rows:
        file_id, name = int(row["id"]), str(row["name"])
        if row["state"] == "committed":
            finish_file(conn, outbox, file_id, name)
            finished += 1
        elif _legacy_published(outbox, name):
            # planned by a version that published before committing: the file is the proof
            commit_files(conn, [file_id], now)
            finish_file(conn, outbox, file_id, name)
            finished += 1
        else:
            drop_file(conn, outbox, file_id, name)
            dropped += 1
    return finished, dropped


def _legacy_published(outbox: Path, name: str) -> bool:
    return any((outbox / f"{name}{extension}").exists() for extension in EXTENSIONS)


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


def count_not_found(conn: sqlite3.Connection, order_id: int, message: str, now: str) -> int:
    """One more "Order not found" answer for a written order; returns how many so far."""
    conn.execute(
        "UPDATE orders SET not_found_count = not_found_count + 1, message = ?, marked_at = ? "
        "WHERE order_id = ?",
        (message, now, order_id),
    )
    row = conn.execute(
        "SELECT not_found_count FROM orders WHERE order_id = ?", (order_id,)
    ).fetchone()
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class Unresolved:
    order_id: int
    own_order_id: str
    state: str  # written (re-checked next cycle) or not_found (gave up)
    checks: int
    message: str
    since: str | None


def unresolved(conn: sqlite3.Connection, limit: int = 50) -> list[Unresolved]:
    """Orders Alephee said it does not know: still re-checked, or given up on."""
    rows = conn.execute(
        "SELECT order_id, own_order_id, state, not_found_count, message, marked_at FROM orders "
        "WHERE state = 'not_found' OR (state = 'written' AND not_found_count > 0) "
        "ORDER BY order_id LIMIT ?",
        (limit,),
    ).fetchall()
    return [
        Unresolved(
            int(r["order_id"]),
            str(r["own_order_id"]),
            str(r["state"]),
            int(r["not_found_count"]),
            str(r["message"] or ""),
            r["marked_at"],
        )
        for r in rows
    ]


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
    written = "SELECT COUNT(*) FROM cancellations WHERE line IS NOT NULL"
    result["cancellations"] = int(conn.execute(written).fetchone()[0])
    return result
