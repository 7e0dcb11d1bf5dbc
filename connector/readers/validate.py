"""Alephee's rules on each row, then one row per product (duplicates and sheets combined).

Per row (a bad row is rejected, the rest go on):

- the SKU must not be empty; a row whose mapped cells are all empty is skipped silently
  (group headings and spacer rows of ERP reports are not products);
- stock: a whole number >= 0; price / price with taxes: > 0 with at most 4 decimals;
  suggested retail price and cost: the same when present, empty = not sent;
- an empty stock, price or price-with-taxes cell rejects the row ("stock is empty").

Duplicates (the same SKU, or brand + SKU when a brand is mapped, within one sheet or file):
identical rows collapse to the first silently; rows with different values reject every row
of that SKU, since the connector cannot know which one the ERP meant.

Several sheets (``combine``): "sum" adds stock across sheets and needs every price field to
agree; if any row of the SKU was rejected, the whole SKU is rejected (a partial sum would send
a wrong stock). "first" takes the SKU from the first listed sheet that has it; if that row
is rejected, the SKU is not sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from connector.readers.arrowtext import empty_mask, empty_text
from connector.readers.columns import SheetFrame
from connector.readers.duplicates import combine_sheets, find_duplicates
from connector.readers.export import empty_table, table_column, text_column
from connector.readers.mapping import VALUE_FIELDS, ProductMapping
from connector.readers.numbers import (
    Mask,
    Numbers,
    arrow_text,
    clean,
    parse_e4,
    side_by_side,
)

MAX_STOCK = 2**31 - 1
REQUIRED = ("quantity", "price", "price_with_taxes")
LABELS = {
    "quantity": "stock",
    "price": "price",
    "price_with_taxes": "price with taxes",
    "suggested_retail_price": "suggested retail price",
    "cost": "cost",
}
SHOWN_CHARS = 40
REJECT_COLUMNS = ["line", "sheet", "sku", "reason"]


@dataclass(frozen=True, eq=False)
class Validated:
    table: pd.DataFrame
    rejects: pd.DataFrame  # line, sheet, sku, reason (sorted by sheet order, line)
    rows_read: int
    members: pd.DataFrame  # sku, brand, line, sheet of every row behind an accepted product


def validate(frames: list[SheetFrame], mapping: ProductMapping, *, unit: str = "line") -> Validated:
    fields = [name for name in VALUE_FIELDS if getattr(mapping.columns, name) is not None]
    prepared = [_prepare(frame, fields) for frame in frames]
    rows = _concat(prepared)
    if rows.empty:
        empty = pd.DataFrame({"line": [], "sheet": [], "sku": [], "reason": []})
        return Validated(empty_table(), empty, 0, empty_table()[["sku", "brand", "line", "sheet"]])
    rows_read = len(rows)
    texts = [rows[text_column(name)] for name in fields]
    numbers = side_by_side(lambda text: parse_e4(text, mapping.decimal, mapping.thousands), texts)
    parsed = dict(zip(fields, numbers, strict=True))
    rows["reason"] = row_reasons(rows, parsed, mapping)
    for name in fields:
        rows[table_column(name)] = _value(name, parsed[name])
    rows = find_duplicates(rows, fields, unit)
    members = _accepted(rows)
    if len(frames) > 1:
        rows, members = combine_sheets(rows, fields, mapping.combine, unit)
    return Validated(
        table=_table(_accepted(rows)),
        rejects=rows[~empty_mask(rows["reason"])][REJECT_COLUMNS],
        rows_read=rows_read,
        members=members[["sku", "brand", "line", "sheet"]].reset_index(drop=True),
    )


def _concat(prepared: list[pd.DataFrame]) -> pd.DataFrame:
    if len(prepared) == 1:  # one sheet (every CSV): no copy of a million rows
        return prepared[0].reset_index(drop=True)
    return pd.concat(prepared, ignore_index=True) if prepared else pd.DataFrame()


def _accepted(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows without a reason; the frame itself when nothing was rejected (no copy)."""
    fine = empty_mask(rows["reason"])
    return rows if fine.all() else rows[fine]


def _prepare(frame: SheetFrame, fields: list[str]) -> pd.DataFrame:
    """Clean the text, attach sheet and notes, and drop rows with nothing mapped in them."""
    values = frame.values
    index = values.index
    names = ["sku", *(["brand"] if "brand" in values else []), *fields]
    cleaned = dict(zip(names, side_by_side(clean, [values[name] for name in names]), strict=True))
    brand = cleaned["brand"] if "brand" in cleaned else _same("", index)
    texts = {"sku": cleaned["sku"], "brand": brand}
    texts.update({text_column(name): cleaned[name] for name in fields})
    note = _same("", index)
    if frame.notes:
        written = np.full(len(index), "", dtype=object)
        for position, messages in frame.notes.items():
            written[position] = "; ".join(messages)
        note = pd.Series(written, index=index, dtype="str")
    columns: dict[str, object] = {
        **texts,
        "line": values["line"].to_numpy(dtype=np.int64),
        "sheet": _same(frame.sheet, index),
        "order": np.full(len(index), frame.order, dtype=np.int64),
        "note": note,
    }
    rows = pd.DataFrame(columns, index=index, copy=False)  # a dict is copied by default
    blank = empty_mask(note)
    for text in texts.values():
        blank &= empty_mask(text)
    if frame.skipped is not None:  # totals, headings, footers the mapping names
        blank |= frame.skipped
    return rows[~blank] if blank.any() else rows


def _same(text: str, index: pd.Index) -> pd.Series[str]:
    if not text:  # the usual case (no brand, no note, a CSV's sheet): no bytes at all
        return pd.Series(pd.array(empty_text(len(index)), dtype="str"), index=index)
    return pd.Series(text, index=index, dtype="str")


def _value(name: str, numbers: Numbers) -> pd.Series[int]:
    if name != "quantity":
        return numbers.e4
    return numbers.e4 // 10_000


def _table(accepted: pd.DataFrame) -> pd.DataFrame:
    table = empty_table()
    if accepted.empty:
        return table
    position = accepted["order"].to_numpy() * (1 << 40) + accepted["line"].to_numpy()
    if not (np.diff(position) > 0).all():
        accepted = accepted.iloc[np.argsort(position, kind="stable")]
    columns: dict[str, object] = {}
    for column, dtype in table.dtypes.items():
        if column in accepted:
            columns[str(column)] = accepted[column].astype(dtype).reset_index(drop=True)
        else:
            size = len(accepted)
            missing = np.ones(size, dtype=bool)
            columns[str(column)] = pd.arrays.IntegerArray(np.zeros(size, dtype=np.int64), missing)
    return pd.DataFrame(columns, copy=False)


class Check(NamedTuple):
    """A rejection rule: rows in ``mask`` get ``before + quoted value + after``."""

    mask: Mask
    before: str
    values: pd.Series | None = None
    after: str = ""
    shown_chars: int | None = SHOWN_CHARS  # a hostile cell must not make a huge message

    def message(self, bad: Mask) -> Any:
        """The message of each of the ``bad`` rows this rule hits; null for the others."""
        hit = pa.array(self.mask[bad])
        if self.values is None:
            return pc.if_else(hit, _text(self.before), _NO_TEXT)
        shown = arrow_text(self.values).filter(pa.array(bad))
        if self.shown_chars is not None:
            shown = pc.utf8_slice_codeunits(shown, 0, self.shown_chars)
        text = pc.binary_join_element_wise(_text(self.before), shown, _text(self.after), _text(""))
        return pc.if_else(hit, text, _NO_TEXT)


def _text(value: str) -> Any:
    return pa.scalar(value, pa.large_string())  # the type pandas keeps its strings in


_NO_TEXT = pa.scalar(None, pa.large_string())


def row_reasons(
    rows: pd.DataFrame, parsed: dict[str, Numbers], mapping: ProductMapping
) -> pd.Series:
    """Why each row is rejected ("" when it is fine); several reasons are joined by "; "."""
    checks = [
        Check(~empty_mask(rows["note"]), "", rows["note"], shown_chars=None),
        Check(empty_mask(rows["sku"]), "SKU is empty"),
    ]
    example = _example(mapping.decimal, mapping.thousands)
    for name, numbers in parsed.items():
        checks.extend(_value_checks(name, numbers, example))
    bad = np.zeros(len(rows), dtype=bool)
    for check in checks:
        bad |= check.mask
    if not bad.any():
        return _same("", rows.index)
    # Messages are only built for the bad rows: usually a handful out of a million.
    messages = [check.message(bad) for check in checks if check.mask[bad].any()]
    found = pc.binary_join_element_wise(*messages, _text("; "), null_handling="skip")
    if not bad.all():
        everyone = arrow_text(_same("", rows.index))
        if isinstance(found, pa.ChunkedArray):  # the kernel takes one array of replacements
            found = found.combine_chunks()
        found = pc.replace_with_mask(everyone, pa.array(bad), found)
    return pd.Series(pd.array(found, dtype="str"), index=rows.index)


def _value_checks(name: str, numbers: Numbers, example: str) -> list[Check]:
    label = LABELS[name]
    valid = numbers.e4.notna().to_numpy(dtype=bool)
    e4 = numbers.e4.to_numpy(dtype=np.int64, na_value=0)

    def quoted(mask: Mask, after: str) -> Check:
        return Check(mask, f"{label} '", numbers.text, "' " + after)

    checks = [Check(numbers.empty, f"{label} is empty")] if name in REQUIRED else []
    checks.append(quoted(numbers.invalid, f"is not a number (write it like {example})"))
    if name == "quantity":
        fraction = numbers.too_precise | (valid & (e4 % 10_000 != 0))
        huge = numbers.too_large | (valid & (e4 > MAX_STOCK * 10_000))
        return [
            *checks,
            quoted(fraction, "is not a whole number"),
            quoted(valid & (e4 < 0), "is negative; Alephee takes 0 or more"),
            quoted(huge, "is too large"),
        ]
    return [
        *checks,
        quoted(numbers.too_precise, "has more than 4 decimals"),
        quoted(valid & (e4 <= 0), "must be greater than 0"),
        quoted(numbers.too_large, "is too large"),
    ]


def _example(decimal: str, thousands: str) -> str:
    return f"1{thousands}234{decimal}56" if thousands else f"1234{decimal}56"
