"""A file's catalog match and accepted values, kept in columns between runs (issue 14).

An ERP exports the same products in the same order every time. Matching a million codes
against the catalog and finding their accepted values means hashing a million strings twice
(about 1.5 s here, more than everything else together). So after each file, the result is
kept per mapping as an Arrow file (``state/cache/layout-<mapping>.arrow``): per row its code
and brand as written, the product it names (catalog brand, or unknown / ambiguous), and the
accepted values and ``as_of`` of that product. The next file of the mapping whose codes and
brands are the same, in the same order (one vectorised comparison), reuses it:

- only if the catalog has not changed since (``change_clock``: every insert, update and
  delete of the catalog is numbered by triggers, whoever writes it);
- the accepted rows changed since (numbered the same way) are read from SQLite and laid over
  it; a removed or re-keyed accepted row invalidates the copy.

SQLite stays the truth: the copy is only a cache, written whole (temp file + rename) after the
truth it reflects was read, and never in a dry run. A missing, torn or foreign file, or any
doubt, means the full match (``catalog.match``) and a full read of the accepted state.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.types import union_categoricals

from connector import fsutil
from connector.db import frame as db_frame
from connector.db import frames as db_frames
from connector.intake.crashpoints import crashpoint
from connector.products import catalog, layout_file
from connector.products.diff import KEY
from connector.products.layout_file import integers as _integers  # noqa: F401 (tested here)
from connector.products.snapshot import VALUE_COLUMNS
from connector.readers import give_back

log = logging.getLogger(__name__)
VERSION = "1"
AS_OF = ["stock_as_of", "price_as_of"]
STATE = [*VALUE_COLUMNS, *AS_OF]
REFOLD = 50_000  # accepted rows changed since the copy: above this, the copy is written anew


@dataclass(frozen=True)
class Clocks:
    accepted: int  # the number of the latest change to the accepted state
    accepted_reset: int  # the latest removal (or re-keying) of an accepted row
    catalog: int  # the latest change to the catalog


@dataclass(frozen=True)
class Aligned:
    """Per export row (positions of ``table``): the product it names and its accepted state."""

    match: catalog.CatalogMatch  # brand: "str" dtype, missing where no product is named
    twice: np.ndarray  # names the same product as another row (its brand written otherwise)
    accepted: pd.DataFrame  # RangeIndex; value columns (Int64) and stock_as_of / price_as_of
    reused: bool


def align(
    conn: sqlite3.Connection, mapping: str, table: pd.DataFrame, *, keep: bool = True
) -> Aligned:
    """The match and accepted state of every row of ``table``; with ``keep``, the result is
    kept for the next file of ``mapping``."""
    clocks = read_clocks(conn)
    path = _path(conn, mapping)
    written = _written(table)
    cached = _load(path, written, clocks) if path else None
    if cached is not None:
        brand = pd.Series(pd.array(cached.brand, dtype="str"), index=table.index)
        flags = cached.flags
        match = catalog.CatalogMatch(brand, flags["unknown"], flags["ambiguous"])
        watermark = int(cached.meta[b"accepted"])
        since = _changed_since(conn, watermark)
        if since > REFOLD:  # e.g. after a first full sync: reading it all is as quick
            accepted = _accepted_of(conn, table, match)
        else:
            accepted = _overlay(conn, cached, written["sku"], watermark)
        del cached
        give_back()  # the copy's columns, read whole: before ingest adds its own peak
        aligned = Aligned(match, flags["twice"], accepted, reused=True)
        if keep and path and since > REFOLD:
            _save(path, written, aligned, clocks)
        return aligned
    found = catalog.match(conn, table)
    found = catalog.CatalogMatch(
        brand=pd.Series(found.brand, dtype="str"), unknown=found.unknown, ambiguous=found.ambiguous
    )
    aligned = Aligned(found, _twice(table, found), _accepted_of(conn, table, found), reused=False)
    if keep and path:
        _save(path, written, aligned, clocks)
    return aligned


def _changed_since(conn: sqlite3.Connection, watermark: int) -> int:
    row = conn.execute("SELECT COUNT(*) FROM accepted WHERE seq > ?", (watermark,)).fetchone()
    return int(row[0])


def read_clocks(conn: sqlite3.Connection) -> Clocks:
    rows = {r[0]: (int(r[1]), int(r[2])) for r in conn.execute("SELECT * FROM change_clock")}
    return Clocks(rows["accepted"][0], rows["accepted"][1], rows["catalog"][0])


def _written(table: pd.DataFrame) -> pa.Table:
    """The codes and brands as the file writes them: what decides the match."""
    return pa.table(
        {
            "sku": pa.array(table["sku"].astype(str), type=pa.large_string()),
            "want": pc.fill_null(
                pa.array(table["brand"].fillna("").astype(str), type=pa.large_string()), ""
            ),
        }
    )


def _meta_fits(meta: dict[bytes, bytes], clocks: Clocks) -> bool:
    """The copy's version, and no change to the catalog nor removal of an accepted row since
    it was written (its codes are compared as it is read)."""
    if meta.get(b"version") != VERSION.encode():
        return False
    if int(meta.get(b"catalog", b"-1")) != clocks.catalog:
        return False
    return int(meta.get(b"accepted", b"-1")) >= clocks.accepted_reset


def _twice(table: pd.DataFrame, found: catalog.CatalogMatch) -> np.ndarray:
    """Rows naming the same product (code + catalog brand) as another named row."""
    named = ~(found.unknown | found.ambiguous)
    twice = np.zeros(len(table), dtype=bool)
    products = pd.DataFrame({"sku": table["sku"].astype(str), "brand": found.brand})[named]
    twice[np.flatnonzero(named)] = products.duplicated(keep=False).to_numpy()
    return twice


def _accepted_of(
    conn: sqlite3.Connection, table: pd.DataFrame, found: catalog.CatalogMatch
) -> pd.DataFrame:
    """The accepted state of each row's product (its code and catalog brand), read whole."""
    accepted = _accepted_rows(conn)
    position = pd.Index(_keys(accepted["sku"], accepted["brand"])).get_indexer(
        _keys(table["sku"], found.brand.fillna(""))
    )
    return _taken(accepted, position)


def _accepted_rows(conn: sqlite3.Connection) -> pd.DataFrame:
    """The whole accepted table, each chunk made compact as it is read: a million rows of
    Python objects at once took 230 MB at the peak of a mapping's first file (measured)."""
    parts = [
        _compact(part)
        for part in db_frames(conn, f"SELECT {', '.join([*KEY, *STATE])} FROM accepted")
    ]
    if not parts:
        return _compact(db_frame(conn, f"SELECT {', '.join([*KEY, *STATE])} FROM accepted"))
    columns: dict[str, object] = {
        col: pd.concat([part[col] for part in parts], ignore_index=True)
        for col in [*KEY, *VALUE_COLUMNS]
    }
    for col in AS_OF:
        columns[col] = pd.Series(union_categoricals([part[col].array for part in parts]))
    return pd.DataFrame(columns, copy=False)


def _compact(part: pd.DataFrame) -> pd.DataFrame:
    columns: dict[str, pd.Series] = {col: part[col].astype("str") for col in KEY}
    columns.update({col: part[col].astype("Int64") for col in VALUE_COLUMNS})
    columns.update({col: part[col].astype("str").astype("category") for col in AS_OF})
    return pd.DataFrame(columns, copy=False)


def _overlay(
    conn: sqlite3.Connection, cached: layout_file.Copy, codes: pa.ChunkedArray, watermark: int
) -> pd.DataFrame:
    """The copy's accepted state with the rows changed since ``watermark`` laid over it.
    ``codes``: each row's code (the copy's, as it fits)."""
    state = pd.DataFrame({**cached.numbers, **cached.dates}, copy=False)[STATE]
    changed = db_frame(
        conn, f"SELECT {', '.join([*KEY, *STATE])} FROM accepted WHERE seq > ?", (watermark,)
    )
    if changed.empty:
        return state
    wanted = pa.array(changed["sku"].astype(str), type=pa.large_string())
    near = np.flatnonzero(pc.is_in(codes, value_set=wanted).to_numpy(zero_copy_only=False))
    if not len(near):
        return state
    sku = pd.Series(codes.take(near).to_pandas(), dtype="str")
    brand = pd.Series(cached.brand.take(near).to_pandas(), dtype="str").fillna("")
    position = pd.Index(_keys(changed["sku"], changed["brand"])).get_indexer(_keys(sku, brand))
    rows, update = near[position >= 0], _taken(changed, position[position >= 0])
    for col in VALUE_COLUMNS:
        state.loc[rows, col] = update[col].to_numpy()
    for col in AS_OF:
        known = set(state[col].cat.categories)
        new = [d for d in update[col].dropna().astype(str).unique() if d not in known]
        state[col] = state[col].cat.add_categories(new)
        state.loc[rows, col] = update[col].astype(object).to_numpy()
    return state


def _keys(sku: pd.Series, brand: pd.Series) -> pd.Index:
    """One text per product (code and brand), for hash look-ups."""
    joined = pc.binary_join_element_wise(
        pa.array(sku.astype(str), type=pa.large_string()),
        pa.array(brand.astype(str), type=pa.large_string()),
        pa.scalar("\x1f", type=pa.large_string()),
    )
    return pd.Index(pd.Series(joined.to_pandas(), dtype="str"))


def _taken(source: pd.DataFrame, position: np.ndarray) -> pd.DataFrame:
    """Rows of ``source`` at ``position`` (-1: no row, every value missing)."""
    columns: dict[str, pd.Series] = {}
    for col in VALUE_COLUMNS:
        numbers = source[col].astype("Int64").array
        columns[col] = pd.Series(numbers.take(position, allow_fill=True))
    for col in AS_OF:
        values = source[col]
        if isinstance(values.dtype, pd.CategoricalDtype):  # by code: no text per row
            codes = np.full(len(position), -1, dtype=np.int64)
            found = position >= 0
            codes[found] = values.cat.codes.to_numpy()[position[found]]
            columns[col] = pd.Series(pd.Categorical.from_codes(codes, dtype=values.dtype))
            continue
        texts = values.astype("str").array
        columns[col] = _dates(pd.Series(texts.take(position, allow_fill=True)))
    return pd.DataFrame(columns)


# -- the file -------------------------------------------------------------------------------


def _path(conn: sqlite3.Connection, mapping: str) -> Path | None:
    row = conn.execute("PRAGMA database_list").fetchone()
    if not row or not row[2]:
        return None  # an in-memory state keeps no copy
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", mapping)[:80] or "products"
    return Path(row[2]).parent / "cache" / f"layout-{name}.arrow"


def _dates(values: pd.Series) -> pd.Series:
    """``as_of`` texts as a categorical: a million rows hold a handful of export times."""
    return values.astype("category")


def later_than(as_of: pd.Series, moment: str) -> np.ndarray:
    """Per row: is the accepted ``as_of`` (categorical, missing: never) later than ``moment``?"""
    categories = np.asarray(as_of.cat.categories.astype(str), dtype=object)
    later = np.append(categories > moment, False).astype(bool)  # code -1 (missing): not later
    return np.asarray(later[as_of.cat.codes.to_numpy()], dtype=bool)


def _load(path: Path, written: pa.Table, clocks: Clocks) -> layout_file.Copy | None:
    """The copy, when it fits ``written`` (see the module docstring); else None."""
    try:
        # Read, not mapped: a mapping would keep the file open, and Windows then refuses to
        # replace it with the next copy.
        return layout_file.read(
            path, written, VALUE_COLUMNS, AS_OF, lambda meta: _meta_fits(meta, clocks)
        )
    except (OSError, pa.ArrowException) as error:
        if path.exists():
            log.info("columnar copy %s not usable (%s): full match", path.name, error)
        return None


def _numbers(values: pd.Series) -> pa.Array:
    """A value column; one no product has a value in takes no room (a stock-only mapping)."""
    if values.notna().any():
        return pa.array(values, type=pa.int64())
    return pa.nulls(len(values))


def _save(path: Path, written: pa.Table, aligned: Aligned, clocks: Clocks) -> None:
    if fsutil.rehearsing():
        return
    state = aligned.accepted
    columns = {
        "sku": written["sku"],
        "want": written["want"],
        "brand": pa.array(aligned.match.brand.astype(object), type=pa.large_string()),
        "unknown": pa.array(aligned.match.unknown, type=pa.bool_()),
        "ambiguous": pa.array(aligned.match.ambiguous, type=pa.bool_()),
        "twice": pa.array(aligned.twice, type=pa.bool_()),
        **{c: _numbers(state[c]) for c in VALUE_COLUMNS},
        **{c: pa.array(state[c]) for c in AS_OF},  # categorical: a dictionary array
    }
    meta = {"version": VERSION, "catalog": str(clocks.catalog), "accepted": str(clocks.accepted)}
    table = pa.table(columns).replace_schema_metadata(meta)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    try:
        layout_file.write(temp, table)
        crashpoint("layout.before_rename")
        temp.replace(path)
    except OSError as error:  # a cache: the next file does the full match
        log.warning("could not keep the columnar copy %s (%s)", path.name, error)
