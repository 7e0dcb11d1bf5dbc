"""The last accepted state per product (brand + SKU): what Alephee acknowledged, field by field.

A value lands here only after Alephee acknowledged that item (rule 1). Each group (stock,
price) also keeps the ``as_of`` of the export it came from, so an older export that arrives late
cannot overwrite newer values. Values Alephee rejected are remembered in ``refused`` so they are
reported once and not sent again until the ERP changes them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported where a table is built: an idle pass never loads it
    import pandas as pd

from connector.db import frame as db_frame
from connector.db import migrate
from connector.products.diff import ALL_FIELDS, GROUP_FIELDS, KEY, column

VALUE_COLUMNS = [column(f) for f in ALL_FIELDS]
Key = tuple[str, str]
Acknowledged = tuple[Key, str, Mapping[str, Any], str]  # key, group, values, as_of


def init(conn: sqlite3.Connection) -> None:
    """The first version (keyed by SKU alone); ``products.state`` upgrades it."""
    cols = ", ".join(f"{c} INTEGER" for c in VALUE_COLUMNS)
    migrate(
        conn,
        "snapshot_v1",
        [
            f"CREATE TABLE accepted (sku TEXT PRIMARY KEY, {cols}, stock_as_of TEXT, "
            "price_as_of TEXT, updated_at TEXT)",
            "CREATE TABLE refused (sku TEXT NOT NULL, grp TEXT NOT NULL, signature TEXT NOT "
            "NULL, message TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (sku, grp))",
        ],
    )


def load(conn: sqlite3.Connection, fields: Iterable[str] = ALL_FIELDS) -> pd.DataFrame:
    """The accepted state of ``fields`` as a table (sku, brand, value columns as nullable
    integers). Only the columns a file carries are loaded: on a million products each column
    costs time."""
    cols = [column(f) for f in ALL_FIELDS if f in set(fields)]
    frame = db_frame(conn, f"SELECT {', '.join([*KEY, *cols])} FROM accepted")
    for col in cols:
        frame[col] = frame[col].astype("Int64")
    for col in KEY:
        frame[col] = frame[col].astype(str)
    return frame


def signature(values: Mapping[str, Any], group: str) -> str:
    """A stable text of a group's values, to recognise "the same value again"."""
    parts = []
    for field in GROUP_FIELDS[group]:
        value = values.get(column(field))
        parts.append("" if value is None or missing(value) else str(int(value)))
    return "|".join(parts)


def accept(
    conn: sqlite3.Connection,
    key: Key,
    group: str,
    values: Mapping[str, Any],
    as_of: str,
    now: str,
) -> None:
    """Record an acknowledged group of values (call inside ``atomic``)."""
    accept_many(conn, [(key, group, values, as_of)], now)


def accept_many(conn: sqlite3.Connection, items: Iterable[Acknowledged], now: str) -> int:
    """``accept`` for a whole batch, one statement per shape of values (call inside
    ``atomic``): the same rows as ``accept`` item by item, without a round trip per item."""
    shapes: dict[tuple[str, tuple[str, ...]], list[list[Any]]] = {}
    cleared: list[tuple[str, str, str]] = []
    for key, group, values, as_of in items:
        cols = tuple(column(f) for f in GROUP_FIELDS[group] if values.get(column(f)) is not None)
        shapes.setdefault((group, cols), []).append(
            [*key, *(int(values[c]) for c in cols), as_of, now]
        )
        cleared.append((*key, group))
    for (group, cols), rows in shapes.items():
        conn.executemany(_upsert_sql(group, list(cols)), rows)
    conn.executemany("DELETE FROM refused WHERE sku = ? AND brand = ? AND grp = ?", cleared)
    return len(cleared)


def _upsert_sql(group: str, cols: list[str]) -> str:
    as_of_col = f"{group}_as_of"
    assignments = ", ".join(f"{c} = excluded.{c}" for c in [*cols, as_of_col, "updated_at"])
    names = ", ".join([*KEY, *cols, as_of_col, "updated_at"])
    marks = ", ".join("?" * (len(cols) + 4))
    return (
        f"INSERT INTO accepted ({names}) VALUES ({marks}) "
        f"ON CONFLICT(sku, brand) DO UPDATE SET {assignments}"
    )


def refuse(
    conn: sqlite3.Connection,
    key: Key,
    group: str,
    values: Mapping[str, Any],
    message: str,
    now: str,
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO refused (sku, brand, grp, signature, message, at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (*key, group, signature(values, group), message, now),
    )


def refused(conn: sqlite3.Connection, group: str) -> dict[Key, str]:
    """(sku, brand) -> signature of the values Alephee refused for that group."""
    rows = conn.execute("SELECT sku, brand, signature FROM refused WHERE grp = ?", (group,))
    return {(row["sku"], row["brand"]): row["signature"] for row in rows}


# The ``as_of`` of a seeded value: before any export, so a real export is never older than a
# seed (``layout.later_than``), and a seed is told from an acknowledgement (``counts``, reconcile).
SEED_AS_OF = "0001-01-01T00:00:00.000000Z"


def seed(conn: sqlite3.Connection, now: str) -> int:
    """First contact: Alephee's values (``catalog_values``, downloaded in the caller's
    transaction) become the accepted state of every product and group that has none, so an
    export equal to what Alephee holds sends nothing. Never over an acknowledged value, a value
    Alephee refused (it must be reported and retried), or a queued value that may be in Alephee
    unanswered (``sent_at``). Set-based: one statement per group for a million products.
    Returns the number of values (product and group) seeded. Call inside ``atomic``."""
    total = 0
    for group, fields in GROUP_FIELDS.items():
        cols = [column(f) for f in fields]
        names = ", ".join(cols)
        updates = ", ".join(f"{c} = excluded.{c}" for c in [*cols, f"{group}_as_of", "updated_at"])
        unset = " AND ".join(f"accepted.{c} IS NULL" for c in [f"{group}_as_of", *cols])
        cursor = conn.execute(
            f"INSERT INTO accepted (sku, brand, {names}, {group}_as_of, updated_at) "
            f"SELECT v.sku, v.brand, {', '.join(f'v.{c}' for c in cols)}, ?, ? "
            "FROM catalog_values v "
            f"WHERE COALESCE({', '.join(f'v.{c}' for c in cols)}, NULL) IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM refused r WHERE r.sku = v.sku AND r.brand = v.brand "
            "AND r.grp = ?) "
            "AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.sku = v.sku AND q.brand = v.brand "
            "AND q.grp = ? AND q.sent_at IS NOT NULL) "
            f"ON CONFLICT(sku, brand) DO UPDATE SET {updates} WHERE {unset}",
            (SEED_AS_OF, now, group, group),
        )
        total += max(cursor.rowcount, 0)  # this statement's rows (not the triggers')
    return total


__all__ = [
    "KEY",
    "SEED_AS_OF",
    "Key",
    "accept",
    "accept_many",
    "counts",
    "load",
    "refuse",
    "refused",
    "seed",
]



def counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Acknowledged and refused values, in changes: one per product and group (stock, price).
    Seeded values (read from Alephee, never sent) are not acknowledgements: not counted."""
    row = conn.execute(
        "SELECT COUNT(NULLIF(stock_as_of, ?)) + COUNT(NULLIF(price_as_of, ?)) FROM accepted",
        (SEED_AS_OF, SEED_AS_OF),
    ).fetchone()
    refused_row = conn.execute("SELECT COUNT(*) FROM refused").fetchone()
    return {"accepted": int(row[0] or 0), "refused": int(refused_row[0])}


def missing(value: Any) -> bool:
    """None, NaN or pandas' NA (without importing pandas for it)."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN is the one value not equal to itself
    except TypeError:  # pd.NA: its comparison is ambiguous
        return True
