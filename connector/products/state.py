"""The stock-and-price tables, created and upgraded in one place, in order.

A product is identified as Alephee identifies it: its code (``sku``) plus its brand (``brand``,
the brand's name as the Alephee catalog writes it; ``""`` for a product without a brand). The
first versions (``snapshot_v1``, ``queue_v1``, ``catalog_v1``) keyed everything by the code
alone, so the same code under two brands was one product. ``products_brand_sku_v2`` rekeys the
accepted state, the refusals and the queue by (sku, brand), keeps the catalog one row per
Alephee product, and adds the queue's ``slot`` (``now`` or ``night``) and ``sent_at`` (a value
of this row went out without an answer recorded yet: Alephee may hold it).

The brand of an old row is taken from the old catalog cache (which kept one product per code),
or from the queue row's own brand. A code the old cache did not know keeps the brand ``""``: at
worst its value is sent once more, which is harmless (values are absolute).
"""

from __future__ import annotations

import sqlite3

from connector.db import migrate
from connector.products import catalog, pending, snapshot
from connector.products.diff import ALL_FIELDS, column

VALUES = [column(f) for f in ALL_FIELDS]
VALUE_DEFS = ", ".join(f"{c} INTEGER" for c in VALUES)
VALUE_LIST = ", ".join(VALUES)


def _old_brand(code: str, own_brand: str = "''") -> str:
    """SQL: the canonical brand of an old row, from the old catalog cache."""
    return (
        "COALESCE("
        f"(SELECT c.brand FROM catalog_v1 c WHERE {own_brand} <> '' AND "
        f"(c.sku = {code} OR c.own_code = {code}) AND lower(c.brand) = lower({own_brand}) LIMIT 1),"
        f" NULLIF({own_brand}, ''),"
        f" (SELECT c.brand FROM catalog_v1 c WHERE c.sku = {code} LIMIT 1),"
        f" (SELECT c.brand FROM catalog_v1 c WHERE c.own_code = {code} AND c.own_code <> ''"
        " LIMIT 1), '')"
    )


QUEUE_BRAND = _old_brand("q.sku", "COALESCE(q.brand, '')")
BRAND_SKU_V2 = [
    "ALTER TABLE catalog RENAME TO catalog_v1",
    "CREATE TABLE catalog (product_id INTEGER PRIMARY KEY, sku TEXT NOT NULL, own_code TEXT, "
    "brand TEXT NOT NULL DEFAULT '', brand_id INTEGER)",
    "INSERT OR IGNORE INTO catalog (product_id, sku, own_code, brand) "
    "SELECT product_id, sku, own_code, COALESCE(brand, '') FROM catalog_v1",
    "CREATE INDEX catalog_by_sku ON catalog (sku)",
    "CREATE INDEX catalog_by_own_code ON catalog (own_code)",
    # The old cache held one product per code: download the catalog again with the next file.
    "DELETE FROM meta WHERE key = 'catalog_refreshed_at'",
    "ALTER TABLE accepted RENAME TO accepted_v1",
    f"CREATE TABLE accepted (sku TEXT NOT NULL, brand TEXT NOT NULL DEFAULT '', {VALUE_DEFS}, "
    "stock_as_of TEXT, price_as_of TEXT, updated_at TEXT, PRIMARY KEY (sku, brand))",
    f"INSERT OR IGNORE INTO accepted (sku, brand, {VALUE_LIST}, stock_as_of, price_as_of, "
    f"updated_at) SELECT a.sku, {_old_brand('a.sku')}, {VALUE_LIST}, stock_as_of, "
    "price_as_of, updated_at FROM accepted_v1 a",
    "ALTER TABLE refused RENAME TO refused_v1",
    "CREATE TABLE refused (sku TEXT NOT NULL, brand TEXT NOT NULL DEFAULT '', grp TEXT NOT "
    "NULL, signature TEXT NOT NULL, message TEXT NOT NULL, at TEXT NOT NULL, "
    "PRIMARY KEY (sku, brand, grp))",
    "INSERT OR IGNORE INTO refused (sku, brand, grp, signature, message, at) "
    f"SELECT r.sku, {_old_brand('r.sku')}, grp, signature, message, at FROM refused_v1 r",
    "DROP INDEX IF EXISTS queue_due",
    "ALTER TABLE queue RENAME TO queue_v1",
    f"CREATE TABLE queue (sku TEXT NOT NULL, brand TEXT NOT NULL DEFAULT '', grp TEXT NOT NULL, "
    f"{VALUE_DEFS}, due_at TEXT NOT NULL, slot TEXT NOT NULL DEFAULT 'now', reason TEXT NOT "
    "NULL, source TEXT, line INTEGER, as_of TEXT NOT NULL, enqueued_at TEXT NOT NULL, "
    "attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, sent_at TEXT, "
    "PRIMARY KEY (sku, brand, grp))",
    "CREATE INDEX queue_due ON queue (due_at)",
    f"INSERT OR IGNORE INTO queue (sku, brand, grp, {VALUE_LIST}, due_at, slot, reason, "
    "source, line, as_of, enqueued_at, attempts, last_error, sent_at) "
    f"SELECT q.sku, {QUEUE_BRAND}, grp, {VALUE_LIST}, "
    "due_at, CASE WHEN due_at > enqueued_at THEN 'night' ELSE 'now' END, reason, source, "
    "line, as_of, enqueued_at, attempts, last_error, "
    # Version 1 did not record sends: any row may have reached Alephee already.
    "enqueued_at FROM queue_v1 q",
    "DROP TABLE queue_v1",
    "DROP TABLE refused_v1",
    "DROP TABLE accepted_v1",
    "DROP TABLE catalog_v1",
]


def _stamp(table: str, where: str) -> str:
    """Trigger body: advance ``table``'s change clock and stamp the changed row with it."""
    return (
        f"UPDATE change_clock SET seq = seq + 1 WHERE name = '{table}'; "
        f"UPDATE {table} SET seq = (SELECT seq FROM change_clock WHERE name = '{table}') "
        f"WHERE {where}; "
    )


_ACCEPTED_ROW = "sku = NEW.sku AND brand = NEW.brand"
# Every change to the accepted state or the catalog is numbered, whoever writes it, so the
# columnar copy of a file's match and accepted values (``products.layout``) knows exactly
# which rows changed since it was written; a removal (or a re-keyed row) invalidates the copy.
CHANGE_CLOCK_V3 = [
    "CREATE TABLE change_clock (name TEXT PRIMARY KEY, seq INTEGER NOT NULL DEFAULT 0, "
    "reset_at INTEGER NOT NULL DEFAULT 0)",
    "INSERT INTO change_clock (name) VALUES ('accepted'), ('catalog')",
    "ALTER TABLE accepted ADD COLUMN seq INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX accepted_by_seq ON accepted (seq)",
    f"CREATE TRIGGER accepted_inserted AFTER INSERT ON accepted BEGIN "
    f"{_stamp('accepted', _ACCEPTED_ROW)}END",
    f"CREATE TRIGGER accepted_updated AFTER UPDATE OF sku, brand, {VALUE_LIST}, stock_as_of, "
    f"price_as_of ON accepted BEGIN {_stamp('accepted', _ACCEPTED_ROW)}"
    "UPDATE change_clock SET reset_at = seq WHERE name = 'accepted' "
    "AND (OLD.sku <> NEW.sku OR OLD.brand <> NEW.brand); END",
    "CREATE TRIGGER accepted_deleted AFTER DELETE ON accepted BEGIN UPDATE change_clock "
    "SET seq = seq + 1, reset_at = seq + 1 WHERE name = 'accepted'; END",
    *(
        f"CREATE TRIGGER catalog_{done} AFTER {event} ON catalog BEGIN UPDATE "
        "change_clock SET seq = seq + 1, reset_at = seq + 1 WHERE name = 'catalog'; END"
        for event, done in (("INSERT", "inserted"), ("UPDATE", "updated"), ("DELETE", "deleted"))
    ),
]


def init(conn: sqlite3.Connection) -> None:
    """Create (first versions) and upgrade the stock-and-price tables, each step once."""
    snapshot.init(conn)
    pending.init(conn)
    catalog.init(conn)
    migrate(conn, "products_brand_sku_v2", BRAND_SKU_V2)
    migrate(conn, "products_change_clock_v3", CHANGE_CLOCK_V3)
