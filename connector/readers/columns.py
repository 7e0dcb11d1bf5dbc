"""Find the mapped columns in a sheet's header and cut them out as a ``SheetFrame``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from connector.errors import BadInputFile
from connector.readers.export import RawSheet
from connector.readers.mapping import ColumnRef, FileMapping, normalise_header
from connector.readers.skip import skipped_rows

MAX_LISTED_HEADERS = 30
HEADER_SEARCH_ROWS = 30


@dataclass(frozen=True, eq=False)
class SheetFrame:
    """The mapped fields of one sheet as text (``sku``, ``brand``, value fields, ``line``),
    plus reader-level problems per row position (formula without result, numeric SKU...)."""

    sheet: str
    order: int
    values: pd.DataFrame
    column_names: dict[str, str]
    notes: dict[int, list[str]] = field(default_factory=dict)
    skipped: npt.NDArray[np.bool_] | None = None  # rows the mapping says are not products


def sheet_frame(path: Path, raw: RawSheet, mapping: FileMapping, order: int) -> SheetFrame:
    indexes = resolve_columns(path, raw, mapping)
    names = {name: _column_name(raw, index) for name, index in indexes.items()}
    columns: dict[str, object] = {name: raw.cells[index] for name, index in indexes.items()}
    columns["line"] = raw.lines  # in the dict: setting it afterwards copied it
    values = pd.DataFrame(columns, copy=False)
    notes: dict[int, list[str]] = {row: [note] for row, note in raw.row_notes.items()}
    for name, index in indexes.items():
        for row in raw.uncached_formulas.get(index, ()):
            notes.setdefault(int(row), []).append(
                f"column '{names[name]}' holds a formula with no saved result; "
                "open the file in Excel and save it again"
            )
    for row in raw.numeric_cells.get(indexes.get("sku", -1), ()):
        notes.setdefault(int(row), []).append(
            f"SKU {raw.cells[indexes['sku']].iloc[int(row)]} stored as a number in Excel; "
            "format the column as Text and type the codes again"
        )
    return SheetFrame(
        sheet=raw.name,
        order=order,
        values=values,
        column_names=names,
        notes=notes,
        skipped=skipped_rows(values, mapping),
    )


def resolve_columns(path: Path, raw: RawSheet, mapping: FileMapping) -> dict[str, int]:
    """Field -> 0-based column index. Raises BadInputFile naming what is missing."""
    width = raw.width
    keys = [normalise_header(name) for name in raw.header]
    found: dict[str, int] = {}
    missing: list[str] = []
    for name, ref in mapping.column_refs().items():
        index = _find(path, raw, ref, keys, width)
        if index is None:
            missing.append(f"{ref.describe()} not found")
        else:
            found[name] = index
    if missing:
        elsewhere = _header_elsewhere(raw, mapping)
        if elsewhere:
            raise BadInputFile(
                f"{_where(path, raw)}{'; '.join(missing)} on {_header_place(raw, mapping)}: "
                f"the header was probably not found there; {elsewhere}",
                hint="set header_row in the mapping to the line of the header",
            )
        raise BadInputFile(
            f"{_where(path, raw)}{'; '.join(missing)}; the file has: {_listing(raw, width)}",
            hint="fix the column names in the mapping (aliases are allowed), or the ERP export",
        )
    _refuse_shared(path, raw, found)
    return found


def _header_elsewhere(raw: RawSheet, mapping: FileMapping) -> str:
    """Another line that has every named column: the header is there, not at header_row."""
    wanted = [ref.keys for ref in mapping.column_refs().values() if ref.position is None]
    if not wanted or not mapping.header:
        return ""
    unit = "row" if raw.name else "line"
    candidates = [(index + 1, row) for index, row in enumerate(raw.preamble)]
    for position in range(min(HEADER_SEARCH_ROWS, len(raw.cells))):
        row = [str(value) for value in raw.cells.iloc[position].tolist()]
        candidates.append((int(raw.lines[position]), row))
    for line, row in candidates:
        keys = {normalise_header(cell) for cell in row}
        if all(any(key in keys for key in aliases) for aliases in wanted):
            shown = ", ".join(cell.strip() for cell in row if cell.strip())[:200]
            return f"{unit} {line} looks like the header: {shown}"
    return ""


def _header_place(raw: RawSheet, mapping: FileMapping) -> str:
    unit = "row" if raw.name else "line"
    return f"{unit} {mapping.header_row} (header_row)"


def _find(path: Path, raw: RawSheet, ref: ColumnRef, keys: list[str], width: int) -> int | None:
    if ref.position is not None:
        return ref.position - 1 if ref.position <= width else None
    for alias, key in zip(ref.aliases, ref.keys, strict=True):
        hits = [index for index, header in enumerate(keys) if header == key]
        if len(hits) > 1:
            columns = " and ".join(str(hit + 1) for hit in hits)
            raise BadInputFile(
                f"{_where(path, raw)}column {alias!r} appears more than once "
                f"(columns {columns}); the connector will not guess which one holds the data",
                hint="rename one of them in the export, or map the column by position",
            )
        if hits:
            return hits[0]
    return None


def _refuse_shared(path: Path, raw: RawSheet, found: dict[str, int]) -> None:
    by_index: dict[int, list[str]] = {}
    for name, index in found.items():
        by_index.setdefault(index, []).append(name)
    for index, names in by_index.items():
        if len(names) > 1:
            raise BadInputFile(
                f"{_where(path, raw)}{' and '.join(names)} both read column "
                f"'{_column_name(raw, index)}'",
                hint="map each field to its own column",
            )


def _column_name(raw: RawSheet, index: int) -> str:
    if index < len(raw.header) and raw.header[index].strip():
        return raw.header[index].strip()
    return f"column {index + 1}"


def _where(path: Path, raw: RawSheet) -> str:
    return f"{path.name}, sheet '{raw.name}': " if raw.name else f"{path.name}: "


def _listing(raw: RawSheet, width: int) -> str:
    if not raw.header:
        return f"{width} columns and no header"
    names = [name.strip() for name in raw.header if name.strip()]
    shown = ", ".join(names[:MAX_LISTED_HEADERS])
    return shown + (", ..." if len(names) > MAX_LISTED_HEADERS else "")
