"""The Alephee catalog, cached: only products that exist there are ever sent.

Fetched with GET /v2/products at the maximum page size, stored in SQLite, and refreshed on a
schedule (``schedule.catalog_refresh_hours``) or on demand, never per file. One row per Alephee
product (``product_id``): the same code may exist under several brands. Alephee matches an
update on SKU first, then on the account's own code, narrowed by the brand, so all are kept;
``match`` does the same for an export. (``products.state`` upgrades the first version.)
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from connector import db
from connector.alephee.client import AlephClient
from connector.db import atomic, migrate
from connector.products import catalog_values, snapshot
from connector.slots import iso, parse_iso

log = logging.getLogger(__name__)


def init(conn: sqlite3.Connection) -> None:
    migrate(
        conn,
        "catalog_v1",
        [
            "CREATE TABLE catalog (sku TEXT PRIMARY KEY, own_code TEXT, brand TEXT, "
            "product_id INTEGER)",
            "CREATE INDEX catalog_own_code ON catalog (own_code)",
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        ],
    )
    catalog_values.init(conn)


def refreshed_at(conn: sqlite3.Connection) -> datetime | None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'catalog_refreshed_at'").fetchone()
    return parse_iso(row["value"]) if row else None


def is_stale(conn: sqlite3.Connection, now: datetime, max_age_hours: float) -> bool:
    last = refreshed_at(conn)
    return last is None or now - last >= timedelta(hours=max_age_hours)


def refresh(conn: sqlite3.Connection, client: AlephClient, now: datetime) -> int:
    """Download the whole catalog and replace the cache in one transaction, with Alephee's
    values (``catalog_values``), and seed the accepted state of products that have none
    (``snapshot.seed``: values read in this very transaction are fresh). Streams: a page is
    written before the next is read, so memory stays flat on a million products."""
    price_list_id = client.settings.price_list_id
    count = 0
    with atomic(conn):
        conn.execute("DELETE FROM catalog")
        conn.execute("DELETE FROM catalog_values")
        for chunk in _chunks(client.iter_catalog_rows(), WRITE_CHUNK):
            rows = [catalog_values.parse(product, price_list_id) for product in chunk]
            conn.executemany(
                "INSERT OR REPLACE INTO catalog (product_id, sku, own_code, brand, brand_id) "
                "VALUES (?,?,?,?,?)",
                (row[:5] for row in rows),
            )
            catalog_values.write(conn, rows)
            count += len(rows)
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('catalog_refreshed_at', ?)",
            (iso(now),),
        )
        seeded = snapshot.seed(conn, iso(now))
    log.info("catalog refreshed: %d products; %d values seeded from Alephee", count, seeded)
    return count


WRITE_CHUNK = 5_000  # products parsed and written at a time (bounded memory)


def _chunks(items: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def ensure_fresh(
    conn: sqlite3.Connection,
    client: AlephClient,
    now: datetime,
    max_age_hours: float,
    *,
    force: bool = False,
) -> bool:
    if force or is_stale(conn, now, max_age_hours):
        refresh(conn, client, now)
        return True
    return False


@dataclass(frozen=True)
class CatalogMatch:
    """Per export row: the catalog brand of the one product it names, or why there is none."""

    brand: pd.Series  # the brand as the catalog writes it ("" for none); None when not matched
    unknown: np.ndarray  # no catalog product has this code (under this brand)
    ambiguous: np.ndarray  # several do: the same code under several brands, no brand given


def match(conn: sqlite3.Connection, table: pd.DataFrame) -> CatalogMatch:
    """Match rows to catalog products as Alephee does: the code against SKUs first, then against
    own codes; a brand, when the export has one, narrows either (by name, any case, or by id).
    Hash look-ups and joins, not row loops (about 1.5 s for a million rows, see bench/)."""
    size = len(table)
    rows = pd.DataFrame(
        {
            "_row": np.arange(size),
            "code": table["sku"].astype(str).to_numpy(),
            "want": table["brand"].fillna("").astype(str).to_numpy(),
        }
    )
    # Brand ids only when a brand is written as a number; own codes only for rows left over.
    written = rows["want"][rows["want"] != ""]
    by_id = bool(written.str.fullmatch(r"\s*\d+\s*").any())
    brand_id = "brand_id" if by_id else "NULL AS brand_id"
    brands = np.full(size, None, dtype=object)
    counts = np.zeros(size, dtype=np.int64)
    for key in ("sku", "own_code"):
        left = rows[counts == 0]
        if left.empty:
            continue
        right = db.frame(
            conn, f"SELECT {key} AS code, brand, {brand_id} FROM catalog WHERE {key} <> ''"
        )
        if right.empty:
            continue
        pairs = _candidates(left, right)
        pairs = pairs[_brand_fits(pairs)]
        found = pairs["_row"].to_numpy()
        counts += np.bincount(found, minlength=size)
        # With several candidates the row is ambiguous: which brand lands here does not matter.
        brands[found] = pairs["brand"].fillna("").astype(str).to_numpy()
    return CatalogMatch(
        brand=pd.Series(brands, index=table.index, dtype=object),
        unknown=counts == 0,
        ambiguous=counts > 1,
    )


def _candidates(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """(row, catalog product) pairs with the same code. Codes that one product has are looked
    up by hash; a join is kept for the few codes several products share (several brands)."""
    shared = right["code"].duplicated(keep=False).to_numpy()
    single = right[~shared]
    position = pd.Index(single["code"]).get_indexer(left["code"])
    hit = position >= 0
    pairs: pd.DataFrame = left[hit].reset_index(drop=True)
    looked_up = single.iloc[position[hit]].reset_index(drop=True)
    pairs["brand"], pairs["brand_id"] = looked_up["brand"], looked_up["brand_id"]
    if shared.any():
        several = left[~hit].merge(right[shared], on="code", how="inner", sort=False)
        pairs = pd.concat([pairs, several[pairs.columns]], ignore_index=True)
    return pairs


def _brand_fits(pairs: pd.DataFrame) -> pd.Series:
    want = pairs["want"]
    if not (want != "").any():
        return pd.Series(True, index=pairs.index)
    brand = pairs["brand"].fillna("").astype(str)
    brand_id = pd.to_numeric(pairs["brand_id"], errors="coerce").astype("Int64").astype(str)
    fits = (want == "") | (want.str.casefold() == brand.str.casefold()) | (want == brand_id)
    result: pd.Series = fits.fillna(False).astype(bool)
    return result


def size(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM catalog").fetchone()[0])
