"""What Alephee holds per catalog product: its stock and the prices of the configured price list.

Kept by ``catalog.refresh`` in ``catalog_values``, written in the same transaction as the
catalog, so both always come from the same download. Values are integers as the diff compares
them (stock, prices in 1/10,000: ``products.diff.column``), NULL where Alephee has none.

A million products arrive through GET /v2/products: a pydantic model per product cost 55 s of a
1M download (issue 14), so a product is read here with plain dict look-ups of the few fields
needed, tolerant of the shapes seen live: keys in any case, a SKU sent as a JSON number, no
``Stock``, ``Price`` as a list of several price lists (or one object), numbers as strings.
A product without a SKU is a shape Alephee never documented: an internal error (exit 5, the
old catalog kept), as the pydantic model made it.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from connector.db import migrate
from connector.products.diff import PRICE_FIELDS, column

# Alephee's name of each price field the diff compares (``products.diff.PRICE_FIELDS``).
PRICE_NAMES = {
    "price": "Price",
    "price_with_taxes": "PriceWithTaxes",
    "suggested_retail_price": "SuggestedRetailPrice",
    "cost": "Cost",
}
PRICE_COLUMNS = [column(f) for f in PRICE_FIELDS]
VALUE_COLUMNS = ["quantity", *PRICE_COLUMNS]
COLUMNS = ["product_id", "sku", "own_code", "brand", "brand_id", *VALUE_COLUMNS]
Row = tuple[Any, ...]


def init(conn: sqlite3.Connection) -> None:
    values = ", ".join(f"{c} INTEGER" for c in VALUE_COLUMNS)
    migrate(
        conn,
        "catalog_values_v1",
        [
            # No index: seeding and reconcile scan it whole and look up the other tables by
            # their keys; an index would cost its upkeep on every one of a million inserts.
            "CREATE TABLE catalog_values (product_id INTEGER, sku TEXT NOT NULL, "
            f"brand TEXT NOT NULL DEFAULT '', {values})",
        ],
    )


def write(conn: sqlite3.Connection, rows: Iterable[Row]) -> None:
    """Append parsed products (call inside the refresh's ``atomic``, after emptying the table)."""
    conn.executemany(
        f"INSERT INTO catalog_values (product_id, sku, brand, {', '.join(VALUE_COLUMNS)}) "
        f"VALUES ({', '.join('?' * (3 + len(VALUE_COLUMNS)))})",
        ((r[0], r[1], r[3], *r[5:]) for r in rows),
    )


def parse(product: Mapping[str, Any], price_list_id: int | None) -> Row:
    """One GET /v2/products result as a row of ``COLUMNS``."""
    ident = _get(product, "Identification")
    if not isinstance(ident, Mapping):
        raise ValueError(f"GET /v2/products: a product without Identification: {_keys(product)}")
    sku = _code(_get(ident, "SKU"))
    if not sku:
        raise ValueError(f"GET /v2/products: a product without a SKU: {_keys(ident)}")
    brand = _get(ident, "Brand")
    brand_name = _get(brand, "Name") if isinstance(brand, Mapping) else None
    brand_id = _get(brand, "Id") if isinstance(brand, Mapping) else None
    product_id = _get(ident, "Id")
    return (
        product_id if isinstance(product_id, int) else None,
        sku,
        _code(_get(ident, "OwnCode")),
        brand_name if isinstance(brand_name, str) else "",
        brand_id if isinstance(brand_id, int) and not isinstance(brand_id, bool) else None,
        _quantity(_get(product, "Stock")),
        *_prices(_get(product, "Price"), price_list_id),
    )


def _keys(data: Any) -> str:
    """The keys of an unexpected shape, for the log (an internal error: exit 5), never values."""
    return ", ".join(sorted(map(str, data))) if isinstance(data, Mapping) else type(data).__name__


def _get(data: Any, key: str) -> Any:
    """``data[key]`` in any case: the exact spelling first (the usual path: one look-up, no
    other check, as a million products go through here), then any case; None for a non-dict."""
    try:
        return data[key]
    except (KeyError, TypeError, IndexError):
        pass
    if type(data) is not dict:
        return None
    folded = key.lower()
    for name, value in data.items():
        if str(name).lower() == folded:
            return value
    return None


def _code(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _quantity(stock: Any) -> int | None:
    value = _get(stock, "Quantity")
    kind = type(value)
    if kind is int:
        return int(value)
    if kind is float:
        return int(value) if value.is_integer() else None
    number = _text_number(value)
    return int(number) if number is not None and number == number.to_integral_value() else None


def _prices(prices: Any, price_list_id: int | None) -> list[int | None]:
    entry = _price_entry(prices, price_list_id)
    if entry is None:
        return [None] * len(PRICE_FIELDS)
    return [_e4(_get(entry, PRICE_NAMES[f])) for f in PRICE_FIELDS]


def _price_entry(prices: Any, price_list_id: int | None) -> Any:
    """The entry of the configured price list; without one configured, the only entry there is
    (several lists and none chosen: which one the connector writes is unknown, so none)."""
    if type(prices) is dict:
        prices = [prices]
    if type(prices) is not list:
        return None
    if price_list_id is None:
        return prices[0] if len(prices) == 1 else None
    for entry in prices:
        list_id = _get(_get(entry, "PriceList"), "Id")
        if list_id == price_list_id or (type(list_id) is str and _int(list_id) == price_list_id):
            return entry
    return None


def _int(value: Any) -> int | None:
    number = _text_number(value)
    return int(number) if number is not None else None


def _e4(value: Any) -> int | None:
    """A price in integers of 1/10,000, as the diff compares it (``"1234.50"`` = ``1234.5``).
    A JSON number is a float: scaled and rounded (exact for prices of up to 4 decimals below
    10^10, far cheaper than a Decimal per value); a text goes through Decimal."""
    kind = type(value)
    if kind is float:
        return round(value * 10_000) if math.isfinite(value) else None
    if kind is int:
        return int(value) * 10_000
    number = _text_number(value)
    return None if number is None else int((number * 10_000).to_integral_value())


def _text_number(value: Any) -> Decimal | None:
    """A number Alephee wrote as text (``" 12.50 "``); another format (``"1.234,50"``) is no
    value: not seeded, so the export's value is sent."""
    if type(value) is not str:
        return None
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None
