"""The diff: a pure function from (this export, the last accepted state) to the changes.

Values are compared exactly: stock as integers, prices as integers of 1/10,000 (``*_e4``), so
``1234.5`` and ``1234.50`` are the same price. A product whose file value equals what Alephee
last accepted is not a change; a field the file does not carry is never a change (a stock file
does not touch prices). Products absent from the file are left alone (the documented policy).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported where a diff runs: these names load without it
    import pandas as pd

STOCK = "stock"
PRICE = "price"
STOCK_FIELDS = ("quantity",)
PRICE_FIELDS = ("price", "price_with_taxes", "suggested_retail_price", "cost")
ALL_FIELDS = STOCK_FIELDS + PRICE_FIELDS
GROUP_FIELDS = {STOCK: STOCK_FIELDS, PRICE: PRICE_FIELDS}
KEY = ["sku", "brand"]  # a product: brand + SKU (brand "" when the product has none)


def column(field: str) -> str:
    """Table column of a field: prices are stored as integers of 1/10,000."""
    return field if field == "quantity" else f"{field}_e4"


@dataclass(frozen=True)
class Changes:
    """Changed products of one group (stock or price): current values plus the old ones."""

    group: str
    table: pd.DataFrame  # sku, brand, line, sheet, the group's columns, old_<column> per column
    unchanged: int

    def __len__(self) -> int:
        return len(self.table)

    def to_dict(self) -> dict[str, Any]:
        """A serialisable summary in the spirit of csv-diff: per product, per field [old, new]."""
        import pandas as pd

        rows = []
        for record in self.table.to_dict("records"):
            fields = {}
            for field in GROUP_FIELDS[self.group]:
                col = column(field)
                if col in record and not pd.isna(record[col]):
                    old = record.get(f"old_{col}")
                    fields[field] = [_plain(old, field), _plain(record[col], field)]
            rows.append(
                {
                    "sku": record["sku"],
                    "brand": record.get("brand") or "",
                    "line": int(record["line"]),
                    **fields,
                }
            )
        return {"group": self.group, "changed": rows, "unchanged": self.unchanged}


def _plain(value: Any, field: str) -> int | float | None:
    import pandas as pd

    if value is None or pd.isna(value):
        return None
    return int(value) if field == "quantity" else int(value) / 10_000


def diff(current: pd.DataFrame, accepted: pd.DataFrame, fields: frozenset[str]) -> list[Changes]:
    """Changes per group for the fields this export carries.

    ``current``: one row per product (sku, brand, line, sheet, value columns).
    ``accepted``: one row per product with the same value columns (missing = never accepted).
    """
    result = []
    for group, group_fields in GROUP_FIELDS.items():
        carried = [f for f in group_fields if f in fields]
        if carried:
            result.append(_diff_group(group, current, accepted, carried))
    return result


def _diff_group(
    group: str, current: pd.DataFrame, accepted: pd.DataFrame, carried: list[str]
) -> Changes:
    cols = [column(f) for f in carried]
    keep = [*KEY, "line", "sheet", *cols]
    left = current[[c for c in keep if c in current.columns]]
    right = accepted[[*KEY, *cols]].rename(columns={c: f"old_{c}" for c in cols})
    return _changed(group, left.merge(right, on=KEY, how="left", sort=False), cols)


def compare(group: str, current: pd.DataFrame, old: pd.DataFrame, carried: list[str]) -> Changes:
    """``diff`` of one group when the accepted values are already aligned: ``old`` holds the
    accepted value columns of each row of ``current``, row for row (missing: never accepted)."""
    import pandas as pd

    cols = [column(f) for f in carried]
    keep = [*KEY, "line", "sheet", *cols]
    left = current[[c for c in keep if c in current.columns]].reset_index(drop=True)
    right = old[cols].reset_index(drop=True).rename(columns={c: f"old_{c}" for c in cols})
    return _changed(group, pd.concat([left, right], axis=1), cols)


def _changed(group: str, merged: pd.DataFrame, cols: list[str]) -> Changes:
    """A value the file carries that differs from the accepted one (or was never accepted)."""
    import numpy as np

    changed = np.zeros(len(merged), dtype=bool)
    for col in cols:
        new, old = merged[col], merged[f"old_{col}"]
        changed |= (new.notna() & (old.isna() | (new != old).fillna(True))).to_numpy(dtype=bool)
    table = merged[changed].reset_index(drop=True)
    return Changes(group=group, table=table, unchanged=int((~changed).sum()))
