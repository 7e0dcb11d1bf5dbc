"""XLSX exports: python-calamine for speed, openpyxl (read-only, defusedxml) as the fallback.

calamine is called directly rather than through ``pandas.read_excel(engine="calamine")``:
pandas drops blank rows (so row numbers would no longer be the ones Excel shows) and pushes
every row through its Python TextParser, which the benchmark measured as slower than building
the columns here. openpyxl reads the sheets calamine cannot (it raises) or must not (the scan
says its dense grid would be too big): it streams rows in bounded memory.

Cells become text the way the operator would type them: numbers use the mapping's decimal
separator and at most 15 significant digits (what Excel shows), so ``1493.8176000000001`` from
a formula reads as ``1493,8176``. A SKU typed as a number comes back as its digits when it is a
whole number below 2**53 (12345.0 -> "12345"); leading zeros are gone for good by then.
"""

from __future__ import annotations

import warnings
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from connector.errors import BadInputFile
from connector.readers.export import RawSheet, SourceFormat
from connector.readers.guard import open_xlsx_zip
from connector.readers.mapping import FileMapping, normalise_header
from connector.readers.xlsx_parts import sheet_parts
from connector.readers.xlsx_scan import SheetScan, WorkbookScan, scan_workbook

MAX_DENSE_CELLS = 20_000_000
MAX_FALLBACK_COLUMNS = 1_024
EXACT_INTEGER_LIMIT = 2**53

Cell = Any  # what calamine / openpyxl return: str, int, float, bool, date types, None
Positions = npt.NDArray[np.int64]
Column = npt.NDArray[np.object_]
Mask = npt.NDArray[np.bool_]


class Grid(NamedTuple):
    """Rows of a sheet with their 0-based row numbers (sorted; gaps allowed)."""

    numbers: Sequence[int]
    rows: Sequence[Sequence[Cell]]


def read_xlsx(
    path: Path, mapping: FileMapping, scanned: Callable[[], WorkbookScan] | None = None
) -> tuple[SourceFormat, list[RawSheet]]:
    """The sheets the mapping asks for. ``scanned``: the scan, made elsewhere while calamine
    parses here (``isolate_pair``); it is awaited before anything parsed is used."""
    scan = scan_file(path) if scanned is None else None
    if scan is not None:
        names = list(scan.sheet_parts)
    else:
        with open_xlsx_zip(path) as archive:
            names = list(sheet_parts(path, archive))  # the index parts only, with defusedxml
    early: dict[str, Grid] = {}
    try:
        with CalamineWorkbook.from_path(str(path)) as workbook:
            chosen = select_sheets(path, mapping, names, _visible_names(workbook))
            if scan is None:
                early = _parse_early(workbook, chosen)
                scan = _awaited(scanned)
            sheets = [
                _read_sheet(path, workbook, name, mapping, scan, early.get(name)) for name in chosen
            ]
    except CalamineError:
        scan = scan if scan is not None else _awaited(scanned)
        chosen = select_sheets(path, mapping, names, names)
        sheets = [
            _to_raw(name, _openpyxl_grid(path, name, mapping), mapping, scan.sheet(name))
            for name in chosen
        ]
    return SourceFormat(kind="xlsx", workbook_sheets=tuple(names)), sheets


def scan_file(path: Path) -> WorkbookScan:
    with open_xlsx_zip(path) as archive:
        return scan_workbook(path, archive)


def calamine_may_read(scan: WorkbookScan) -> bool:
    """Whether calamine may parse every sheet of the workbook (``_read_sheet``'s test)."""
    dense = (sheet.dense_cells > MAX_DENSE_CELLS for sheet in scan.sheets.values())
    return not scan.parsers_disagree and not any(dense)


def _awaited(scanned: Callable[[], WorkbookScan] | None) -> WorkbookScan:
    assert scanned is not None
    return scanned()


def _parse_early(workbook: CalamineWorkbook, chosen: list[str]) -> dict[str, Grid]:
    """calamine's grid of each chosen sheet, parsed before the scan's verdict; a sheet
    calamine fails on is left to ``_read_sheet``, which decides as without this step."""
    grids = {}
    for name in chosen:
        try:
            rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except CalamineError:
            continue
        grids[name] = Grid(range(len(rows)), rows)
    return grids


def _read_sheet(
    path: Path,
    workbook: CalamineWorkbook,
    name: str,
    mapping: FileMapping,
    scan: WorkbookScan,
    early: Grid | None,
) -> RawSheet:
    measured = scan.sheet(name)
    if measured.dense_cells > MAX_DENSE_CELLS or scan.parsers_disagree:
        grid = _openpyxl_grid(path, name, mapping)
    elif early is not None:
        grid = early
    else:
        try:
            rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
            grid = Grid(range(len(rows)), rows)
        except CalamineError:
            grid = _openpyxl_grid(path, name, mapping)
    return _to_raw(name, grid, mapping, measured)


def _visible_names(workbook: CalamineWorkbook) -> list[str]:
    return [
        sheet.name
        for sheet in workbook.sheets_metadata
        if sheet.typ == SheetTypeEnum.WorkSheet and sheet.visible == SheetVisibleEnum.Visible
    ]


def select_sheets(
    path: Path, mapping: FileMapping, names: list[str], visible: list[str]
) -> list[str]:
    """The sheets the mapping asks for, in its order ("*" = every visible worksheet)."""
    wanted = mapping.sheets if isinstance(mapping.sheets, list) else [mapping.sheets]
    chosen: list[str] = []
    for spec in wanted:
        for name in visible if spec == "*" else [_find_sheet(path, spec, names)]:
            if name not in chosen:
                chosen.append(name)
    return chosen


def _find_sheet(path: Path, spec: int | str, names: list[str]) -> str:
    if isinstance(spec, int) and 1 <= spec <= len(names):
        return names[spec - 1]
    if isinstance(spec, str):
        for name in names:
            if name == spec or normalise_header(name) == normalise_header(spec):
                return name
    listed = ", ".join(repr(name) for name in names)
    raise BadInputFile(
        f"{path.name}: sheet {spec!r} not found; the workbook has: {listed}",
        hint="fix 'sheets' in the mapping, or rename the sheet in the ERP export",
    )


def _openpyxl_grid(path: Path, name: str, mapping: FileMapping) -> Grid:
    """The sheet's non-empty rows via openpyxl, as narrow as the header (bounded memory)."""
    import openpyxl  # imported here: only the rare fallback pays for it

    top = mapping.header_row if mapping.header else mapping.skip_rows
    try:
        with warnings.catch_warnings(), ExitStack() as stack:
            # openpyxl warns about every Excel feature it skips (validation, styles...).
            warnings.simplefilter("ignore")
            handle = stack.enter_context(open(path, "rb"))  # closed even when openpyxl fails
            workbook = openpyxl.load_workbook(
                handle, read_only=True, data_only=True, keep_links=False
            )
            try:
                sheet = workbook[name]
                sheet.reset_dimensions()  # never trust the <dimension> the file claims
                head = list(sheet.iter_rows(max_row=top, max_col=MAX_FALLBACK_COLUMNS))
                width = max([_used_width(row) for row in head] + [_positions_width(mapping)])
                numbers, rows = [], []
                for number, row in enumerate(
                    sheet.iter_rows(values_only=True, max_col=max(width, 1)), start=0
                ):
                    if any(value is not None for value in row):
                        numbers.append(number)
                        rows.append(row)
            finally:
                workbook.close()
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types on broken files
        raise BadInputFile(
            f"{path.name}: sheet {name!r} cannot be read ({type(exc).__name__})",
            hint="open it in Excel and save it again as .xlsx, or export it again",
        ) from None
    return Grid(numbers, rows)


def _used_width(row: Sequence[Any]) -> int:
    used = [index for index, cell in enumerate(row) if getattr(cell, "value", None) is not None]
    return used[-1] + 1 if used else 0


def _positions_width(mapping: FileMapping) -> int:
    positions = [ref.position or 0 for ref in mapping.column_refs().values()]
    return max(positions)


def _to_raw(name: str, grid: Grid, mapping: FileMapping, scan: SheetScan) -> RawSheet:
    top = mapping.header_row if mapping.header else mapping.skip_rows
    titles = top - 1 if mapping.header else top
    decimal = mapping.decimal
    by_number = dict(zip(grid.numbers[: bisect_left(grid.numbers, top)], grid.rows, strict=False))
    preamble = [[cell_text(cell, decimal) for cell in by_number.get(i, ())] for i in range(titles)]
    header = (
        [cell_text(cell, decimal) for cell in by_number.get(titles, ())] if mapping.header else []
    )
    start = bisect_left(grid.numbers, top if mapping.header else titles)
    data = grid.rows[start:]
    numbers = np.asarray(grid.numbers[start:], dtype=np.int64)
    lengths = set(map(len, data))  # in C: one length for calamine's rectangular grid
    width = max(max(lengths, default=0), len(header))
    # Columns no mapping can reach (right of the header's last name, or of the highest mapped
    # position) are left out: a cell at XFD on each row would otherwise make 16,384 columns.
    named = max((i + 1 for i, name in enumerate(header) if name.strip()), default=0)
    width = min(width, max(named, _positions_width(mapping), 1))
    header = header[:width]
    columns: dict[int, pd.Series[str]] = {}
    numeric: dict[int, Positions] = {}
    for index, values in enumerate(_columns(data, width)):
        columns[index], flagged = _column_text(values, decimal)
        if flagged.size:
            numeric[index] = flagged
    cells = pd.DataFrame(columns, copy=False) if columns else pd.DataFrame(index=range(len(data)))
    return RawSheet(
        name=name,
        preamble=preamble,
        header=header,
        cells=cells,
        lines=numbers + 1,
        uncached_formulas=_formula_rows(scan, numbers),
        numeric_cells=numeric,
    )


def _columns(rows: Sequence[Sequence[Cell]], width: int) -> Iterable[Column]:
    if not rows or not width:
        return []
    if set(map(len, rows)) != {width}:
        rows = [list(row[:width]) + [None] * (width - len(row[:width])) for row in rows]
    grid = np.empty((len(rows), width), dtype=object)
    grid[:] = rows  # one C-level copy; zip(*rows) is four times slower
    return [grid[:, index] for index in range(width)]


def _column_text(values: Column, decimal: str) -> tuple[pd.Series[str], Positions]:
    """Text of one column, and the rows holding numbers that are not exact whole numbers."""
    quick = _plain_column_text(values, decimal)
    if quick is not None:
        return quick
    kinds = set(map(type, values))
    if kinds <= {str}:
        return _text(values), np.empty(0, dtype=np.int64)
    if kinds <= {str, float, int}:
        try:
            return _numeric_column_text(values, kinds, decimal)
        except OverflowError:  # an integer beyond any float: the slow path renders it
            pass
    # Dates, booleans: rare, one cell at a time.
    texts = [value if type(value) is str else cell_text(value, decimal) for value in values]
    odd = [type(value) in (int, float) and not _exact(value) for value in values]
    return _text(texts), np.flatnonzero(odd)


def _plain_column_text(values: Column, decimal: str) -> tuple[pd.Series[str], Positions] | None:
    """``_column_text`` of a column of only text or only numbers (an export's usual columns),
    typed by Arrow's inference: one C pass that also checks every cell. None for the others:
    mixed cells (a blank cell is ""), dates, booleans."""
    try:
        inferred = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return None
    if inferred.null_count:
        return None
    if pa.types.is_string(inferred.type):
        return pd.Series(pd.array(inferred, dtype="str")), np.empty(0, dtype=np.int64)
    numeric = pa.types.is_floating(inferred.type) or pa.types.is_integer(inferred.type)
    # Arrow reads True as 1.0 after a float: only a column without booleans is numbers.
    if not numeric or bool in set(map(type, values)):
        return None
    texts, odd = _number_texts(inferred.to_numpy(zero_copy_only=False).astype(np.float64), decimal)
    return pd.Series(texts, dtype="str"), np.flatnonzero(odd)


def _numeric_column_text(
    values: Column, kinds: set[type], decimal: str
) -> tuple[pd.Series[str], Positions]:
    """Numbers (empty cells come as "") as text with whole-column work, exactly as cell_text."""
    if str not in kinds:  # numbers only: the text column stays in Arrow, no Python strings
        numbers = values.astype(np.float64)
        texts, odd = _number_texts(numbers, decimal)
        return pd.Series(texts, dtype="str"), np.flatnonzero(odd)
    cells = values.copy()
    numeric = np.flatnonzero([type(value) is not str for value in values])
    numbers = cells[numeric].astype(np.float64)
    texts, odd = _number_texts(numbers, decimal)
    cells[numeric] = texts.to_numpy(zero_copy_only=False)
    return _text(cells), numeric[odd]


def _text(values: Column | list[str]) -> pd.Series[str]:
    """Python strings as a text column, through Arrow: a third faster than pandas' own
    conversion (which checks every value again)."""
    return pd.Series(pd.array(pa.array(values, type=pa.string()), dtype="str"))


def _number_texts(numbers: npt.NDArray[np.float64], decimal: str) -> tuple[pa.Array, Mask]:
    """``cell_text`` of each number, and which are not exact whole numbers.

    Arrow writes whole numbers, and the shortest text that reads back as the same float for
    the rest: that is ``format(n, ".15g")`` whenever it has at most 15 digits, no exponent and
    the number is in %g's fixed-point range. The others (about none in an export: 0.1 + 0.2,
    1e-05) go through ``format`` one by one. Measured 2-3 times faster on a price column.
    """
    exact = (numbers == np.trunc(numbers)) & (np.abs(numbers) < EXACT_INTEGER_LIMIT)
    wholes = pa.array(np.where(exact, numbers, 0).astype(np.int64)).cast(pa.string())
    if exact.all():  # a stock column
        return wholes, ~exact
    shortest = pa.array(numbers).cast(pa.string())
    magnitude = np.abs(numbers)
    signs = (numbers < 0).astype(np.int32)
    fits = (
        (magnitude >= 1e-4)
        & (magnitude < 1e15)
        & (pc.utf8_length(shortest).to_numpy(zero_copy_only=False) - signs <= 16)
        & ~pc.match_substring(shortest, "e").to_numpy(zero_copy_only=False)
    )
    if decimal != ".":
        shortest = pc.replace_substring(shortest, ".", decimal)
    texts = pc.if_else(pa.array(exact), wholes, shortest)
    slow = ~exact & ~fits
    if slow.any():
        redone = [format(n, ".15g").replace(".", decimal) for n in numbers[slow].tolist()]
        texts = pc.replace_with_mask(texts, pa.array(slow), pa.array(redone, pa.string()))
    return texts, ~exact


def _exact(value: float | int) -> bool:
    return float(value).is_integer() and abs(value) < EXACT_INTEGER_LIMIT


def cell_text(value: Cell, decimal: str = ".") -> str:
    """One cell as the text the operator would type (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if _exact(value) else format(value, ".15g").replace(".", decimal)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def _formula_rows(scan: SheetScan, numbers: Positions) -> dict[int, Positions]:
    """Uncached formula cells as column -> positions into the data rows."""
    found: dict[int, list[int]] = {}
    for row, column in scan.uncached:
        position = int(np.searchsorted(numbers, row))
        if position < len(numbers) and numbers[position] == row:
            found.setdefault(column, []).append(position)
    return {column: np.array(sorted(rows), dtype=np.int64) for column, rows in found.items()}
