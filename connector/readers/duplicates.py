"""One row per product: the duplicate rule within a sheet, and ``combine`` across sheets.

The rules themselves are documented in ``connector.readers.validate``. Everything here works on the
whole table at once (group-bys), looping in Python only over the few conflicting SKUs to
write their messages.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from connector.readers.arrowtext import empty_mask
from connector.readers.export import table_column, text_column
from connector.readers.mapping import PRICE_FIELDS
from connector.readers.numbers import arrow_text, numpy_of

MAX_CODE_DIGITS = 18
_POWERS = 10 ** np.arange(MAX_CODE_DIGITS + 1, dtype=np.int64)

KEY = ["sku", "brand"]
SHEET_KEY = ["order", "sku", "brand"]


def find_duplicates(rows: pd.DataFrame, fields: list[str], unit: str) -> pd.DataFrame:
    """Collapse identical duplicates; reject every row of a SKU with conflicting values."""
    # The SKU column alone finds candidates fast; the full key is checked on those only.
    named = ~empty_mask(rows["sku"])
    repeated = named & _repeated(rows["sku"], named)
    if not repeated.any():
        return rows
    candidates = rows[repeated]
    candidates = candidates[candidates.duplicated(SHEET_KEY, keep=False)]
    if candidates.empty:
        return rows
    signature = pd.concat([candidates[SHEET_KEY], _signature(candidates, fields)], axis=1)
    variants = signature.drop_duplicates().groupby(SHEET_KEY).size()
    conflicting = variants[variants > 1].index
    keys = pd.MultiIndex.from_frame(candidates[SHEET_KEY])
    in_conflict = keys.isin(conflicting)
    rows = rows.copy()
    for _, group in candidates[in_conflict].groupby(SHEET_KEY, sort=False):
        where = f" of sheet '{group['sheet'].iloc[0]}'" if group["sheet"].iloc[0] else ""
        message = (
            f"SKU appears on {unit}s {_listing(group['line'].tolist())}{where} with different "
            f"values; keep one {unit} per SKU"
        )
        _add_reason(rows, group.index, message)
    kept = candidates[~in_conflict & (candidates["reason"] == "").to_numpy(dtype=bool)]
    result: pd.DataFrame = rows.drop(kept.index[kept.duplicated(SHEET_KEY, keep="first")])
    return result


def _repeated(skus: pd.Series[str], named: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Which SKUs occur more than once. Hashing a million strings takes 0.3 s; ERP codes are
    usually digits, and a code of up to 18 digits is one integer when a 1 is put in front
    ("007" -> 1007, "7" -> 17: leading zeros still tell codes apart), which hashes ten times
    faster."""
    values = arrow_text(skus)
    if _strictly_increasing(values):  # an export sorted by code (the usual): no hashing
        return np.zeros(len(skus), dtype=bool)
    digits = numpy_of(pc.ascii_is_decimal(values))
    length = numpy_of(pc.binary_length(values))
    if (digits | ~named).all() and length.max(initial=0) <= MAX_CODE_DIGITS:
        if not named.all():
            values = pc.if_else(pa.array(named), values, "0")
        keys = pd.Series(numpy_of(pc.cast(values, pa.int64())) + _POWERS[length])
        return keys.duplicated(keep=False).to_numpy(dtype=bool)
    return skus.duplicated(keep=False).to_numpy(dtype=bool)


def _strictly_increasing(values: Any) -> bool:
    """Whether each SKU sorts after the one before it (then no two are equal)."""
    if len(values) < 2:
        return True
    return bool(pc.all(pc.less(values[:-1], values[1:])).as_py())


def _signature(rows: pd.DataFrame, fields: list[str]) -> pd.DataFrame:
    """What makes two rows "the same": parsed values, or the raw text when unparseable."""
    columns = {}
    for name in fields:
        parsed = rows[table_column(name)]
        columns[name] = parsed.astype("str").where(parsed.notna(), "?" + rows[text_column(name)])
    return pd.DataFrame(columns, index=rows.index)


def combine_sheets(
    rows: pd.DataFrame, fields: list[str], how: str, unit: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows (accepted and rejected) after combining sheets, and the accepted source rows."""
    named = rows[rows["sku"] != ""]
    if how == "first":
        ordered = named.sort_values(["order", "line"], kind="stable")
        losers = named.index.difference(ordered.drop_duplicates(KEY, keep="first").index)
        ignored = losers[(rows.loc[losers, "reason"] == "").to_numpy(dtype=bool)]
        rows = rows.drop(ignored)
        return rows, rows[rows["reason"] == ""]
    spread = named.groupby(KEY)["order"].transform("nunique")
    multi = named[spread > 1]
    if multi.empty:
        return rows, rows[rows["reason"] == ""]
    rows = rows.copy()
    _reject_partial_sums(rows, multi, unit)
    _reject_price_conflicts(rows, rows.loc[multi.index], fields)
    members = rows[rows["reason"] == ""]
    summed = rows.loc[multi.index]
    summed = summed[summed["reason"] == ""]
    totals = _sum(summed, fields)
    rows = pd.concat([rows.drop(summed.index), totals], ignore_index=True)
    return rows, members


def _reject_partial_sums(rows: pd.DataFrame, multi: pd.DataFrame, unit: str) -> None:
    rejected = multi[multi["reason"] != ""].sort_values(["order", "line"], kind="stable")
    first = rejected.drop_duplicates(KEY)
    for sku, brand, sheet, line in zip(
        first["sku"], first["brand"], first["sheet"], first["line"], strict=True
    ):
        same = multi[(multi["sku"] == sku) & (multi["brand"] == brand)]
        fine = same.index[same["reason"] == ""]
        message = (
            f"another {unit} of this SKU was rejected (sheet '{sheet}', {unit} {line}); "
            'with combine = "sum" the stock total would be wrong'
        )
        _add_reason(rows, fine, message)


def _reject_price_conflicts(rows: pd.DataFrame, multi: pd.DataFrame, fields: list[str]) -> None:
    valid = multi[multi["reason"] == ""]
    for name in fields:
        if name not in PRICE_FIELDS:
            continue
        column = table_column(name)
        variants = valid.groupby(KEY)[column].nunique()
        for sku, brand in variants[variants > 1].index:
            group = valid[(valid["sku"] == sku) & (valid["brand"] == brand)]
            sheets = " and ".join(f"'{sheet}'" for sheet in dict.fromkeys(group["sheet"]))
            message = (
                f"{name.replace('_', ' ')} differs between sheets {sheets}; "
                "every sheet must show the same price"
            )
            _add_reason(rows, group.index, message)


def _sum(summed: pd.DataFrame, fields: list[str]) -> pd.DataFrame:
    """One row per SKU: stock added up, prices (all equal) and the first sheet's line kept."""
    how = {table_column(name): "first" for name in fields if name in PRICE_FIELDS}
    if "quantity" in fields:
        how["quantity"] = "sum"
    how.update({"line": "first", "sheet": "first", "order": "first", "reason": "first"})
    ordered = summed.sort_values(["order", "line"], kind="stable")
    return ordered.groupby(KEY, sort=False).agg(how).reset_index()


def _add_reason(rows: pd.DataFrame, index: pd.Index, message: str) -> None:
    current = rows.loc[index, "reason"]
    rows.loc[index, "reason"] = current.where(current == "", current + "; ") + message


def _listing(lines: list[int]) -> str:
    shown = [str(line) for line in lines]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
