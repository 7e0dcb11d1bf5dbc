"""XLSX exports: python-calamine for speed, openpyxl (read-only, defusedxml) as the fallback.

calamine is called directly rather than through ``pandas.read_excel(engine="calamine")``:
pandas drops blank rows (so row numbers would no longer be the ones Excel shows) and pushes
every row through its Python TextParser, which the benchmark measured as slower than building
the columns here. openpyxl reads the sheets calamine cannot (it raises) or must not (the scan
says its dense grid would be too big): it streams rows in bounded memory.

Cells become text the way the operator would type them (``xlsx_cells``).
"""

from __future__ import annotations

import warnings
from bisect import bisect_left
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from connector.errors import BadInputFile
from connector.readers.export import RawSheet, SourceFormat
from connector.readers.guard import open_xlsx_zip
from connector.readers.mapping import FileMapping, normalise_header
from connector.readers.xlsx_cells import Cell, Positions, cell_columns, cell_text, column_text
from connector.readers.xlsx_parts import sheet_parts
from connector.readers.xlsx_scan import SheetScan, WorkbookScan, scan_workbook

MAX_DENSE_CELLS = 20_000_000
MAX_FALLBACK_COLUMNS = 1_024


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
    numbers = _row_numbers(grid.numbers[start:])
    lengths = set(map(len, data))  # in C: one length for calamine's rectangular grid
    width = max(max(lengths, default=0), len(header))
    # Columns no mapping can reach (right of the header's last name, or of the highest mapped
    # position) are left out: a cell at XFD on each row would otherwise make 16,384 columns.
    named = max((i + 1 for i, name in enumerate(header) if name.strip()), default=0)
    width = min(width, max(named, _positions_width(mapping), 1))
    header = header[:width]
    columns: dict[int, pd.Series[str]] = {}
    numeric: dict[int, Positions] = {}
    for index, values in enumerate(cell_columns(data, width)):
        columns[index], flagged = column_text(values, decimal)
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


def _row_numbers(numbers: Sequence[int]) -> Positions:
    """calamine's rows are a range: made in C rather than from 100,000 Python numbers."""
    if isinstance(numbers, range):
        return np.arange(numbers.start, numbers.stop, numbers.step, dtype=np.int64)
    return np.asarray(numbers, dtype=np.int64)


def _formula_rows(scan: SheetScan, numbers: Positions) -> dict[int, Positions]:
    """Uncached formula cells as column -> positions into the data rows."""
    found: dict[int, list[int]] = {}
    for row, column in scan.uncached:
        position = int(np.searchsorted(numbers, row))
        if position < len(numbers) and numbers[position] == row:
            found.setdefault(column, []).append(position)
    return {column: np.array(sorted(rows), dtype=np.int64) for column, rows in found.items()}
