"""What reading one ERP export produces: accepted products, rejected rows, and the raw rows.

``Export.table`` has one row per accepted product; every price is an ``Int64`` of the value
times 10,000 (``price_e4``), so comparisons against the last accepted state are exact.
The raw rows stay available (``Export.original``) for the rejects report and for the lead's
own rejects (e.g. "not in the Alephee catalog").
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from connector.readers.mapping import VALUE_FIELDS, FileMapping

TABLE_COLUMNS = (
    "sku",
    "brand",
    "quantity",
    "price_e4",
    "price_with_taxes_e4",
    "suggested_retail_price_e4",
    "cost_e4",
    "line",
    "sheet",
)


def table_column(field_name: str) -> str:
    """The table column of a mapping field: quantity stays, prices get ``_e4``."""
    return field_name if field_name == "quantity" else f"{field_name}_e4"


def text_column(field_name: str) -> str:
    """The working column holding a field's cleaned text during validation."""
    return f"{field_name}_text"


@dataclass(frozen=True, slots=True)  # slots: a broken file can yield a million of them
class Reject:
    line: int
    sheet: str
    sku: str
    reason: str
    original: dict[str, str] = field(default_factory=dict)


class RowSource(Protocol):
    """Where the whole rows of a sheet read for some columns only are found again."""

    @property
    def width(self) -> int: ...

    def cells_at(self, lines: Sequence[int]) -> Iterator[tuple[str, ...]]:
        """Every field of each of ``lines`` (each one a row of the sheet)."""
        ...


@dataclass(frozen=True, eq=False)
class RawSheet:
    """One table as read: every cell as text, with the line/row the operator sees.

    ``cells`` has columns 0..n-1 (str dtype), or, when ``whole`` is set, only the mapped
    columns among them (their own numbers): ``whole`` then gives the rows whole, on demand.
    ``lines`` is sorted ascending. The sparse problem maps hold row positions (0-based into
    ``cells``).
    """

    name: str
    preamble: list[list[str]]
    header: list[str]
    cells: pd.DataFrame
    lines: npt.NDArray[np.int64]
    row_notes: dict[int, str] = field(default_factory=dict)
    uncached_formulas: dict[int, npt.NDArray[np.int64]] = field(default_factory=dict)
    numeric_cells: dict[int, npt.NDArray[np.int64]] = field(default_factory=dict)
    whole: RowSource | None = None

    @property
    def width(self) -> int:
        """The number of columns of the sheet as read (not only those in ``cells``)."""
        return self.whole.width if self.whole is not None else int(self.cells.shape[1])

    @property
    def keys(self) -> list[str]:
        """Header names made unique and non-blank, for ``original`` dictionaries."""
        width = max(len(self.header), self.width)
        keys: list[str] = []
        for index in range(width):
            name = self.header[index].strip() if index < len(self.header) else ""
            name = name or f"column {index + 1}"
            keys.append(name if name not in keys else f"{name} ({index + 1})")
        return keys

    def rows(self, lines: Sequence[int]) -> list[list[str] | None]:
        """The raw rows at ``lines`` (None where there is no such row)."""
        return [None if values is None else list(values) for values in self.cells_at(lines)]

    def cells_at(self, lines: Sequence[int]) -> Iterator[tuple[str, ...] | None]:
        """The cells at each of ``lines`` (None where there is no such row), taken in bulk
        column by column and handed out one row at a time: fifty times faster than row-by-row
        access, and a million rejected rows are never all held twice."""
        wanted = np.asarray(lines, dtype=np.int64)
        if not len(self.lines) or not len(wanted):
            yield from repeat(None, len(wanted))
            return
        found = np.minimum(np.searchsorted(self.lines, wanted), len(self.lines) - 1)
        present = self.lines[found] == wanted
        positions = found[present]
        taken: Iterator[tuple[str, ...]]
        if self.whole is not None:
            taken = self.whole.cells_at(self.lines[positions].tolist())
        else:
            columns = [self.cells[column].take(positions).tolist() for column in self.cells]
            taken = zip(*columns, strict=True) if columns else repeat((), len(positions))
        for here in present.tolist():
            yield next(taken) if here else None

    def row(self, line: int) -> list[str] | None:
        return self.rows([line])[0]


@dataclass(frozen=True)
class SourceFormat:
    """How the file was written, so a rejects report can be written the same way."""

    kind: Literal["csv", "xlsx"]
    encoding: str = ""
    delimiter: str = ""
    sep_line: bool = False
    workbook_sheets: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class Export:
    path: Path
    mapping: FileMapping
    fields: frozenset[str]
    table: pd.DataFrame
    rejects: list[Reject]
    rows_read: int
    source: SourceFormat = SourceFormat(kind="csv")
    sheets: tuple[RawSheet, ...] = ()
    members: pd.DataFrame = field(default_factory=pd.DataFrame)

    def original(self, line: int, sheet: str = "") -> dict[str, str]:
        """The raw row at ``line`` of ``sheet`` (header -> text); {} when there is none."""
        return self.originals([line], sheet)[0]

    def originals(self, lines: Sequence[int], sheet: str = "") -> list[dict[str, str]]:
        """``original`` for many lines of one sheet at once (use it for thousands of rejects)."""
        raw = self.sheet(sheet)
        if raw is None:
            return [{} for _ in lines]
        keys = raw.keys
        return [dict(zip(keys, row, strict=False)) if row else {} for row in raw.cells_at(lines)]

    def sheet(self, name: str) -> RawSheet | None:
        for raw in self.sheets:
            if raw.name == name:
                return raw
        return None

    def source_rows(self, sku: str, brand: str = "") -> list[tuple[int, str]]:
        """Every (line, sheet) that fed an accepted product: with combine = "sum" a product
        comes from several sheets, and a reject for it should list all of them."""
        if self.members.empty:
            return []
        found = self.members[(self.members["sku"] == sku) & (self.members["brand"] == brand)]
        return [
            (int(line), str(sheet))
            for line, sheet in zip(found["line"], found["sheet"], strict=True)
        ]


def empty_table() -> pd.DataFrame:
    columns: dict[str, pd.Series] = {
        "sku": pd.Series([], dtype="str"),
        "brand": pd.Series([], dtype="str"),
    }
    for name in VALUE_FIELDS:
        columns[table_column(name)] = pd.Series([], dtype="Int64")
    columns["line"] = pd.Series([], dtype="int64")
    columns["sheet"] = pd.Series([], dtype="str")
    return pd.DataFrame(columns)
