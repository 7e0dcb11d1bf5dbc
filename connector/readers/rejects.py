"""The rejects report: the rejected rows exactly as read, plus where they were and why.

A report is in the same format family as its source (CSV in: CSV out with the same delimiter,
encoding and BOM; XLSX in: XLSX out with every cell typed as text) and keeps the same title
rows, header and sheets, so an operator can fix a row and drop the report back in the inbox:
it reads through the same mapping (``match_mapping`` recognises ``rejects-<source>-...``
names). Two columns are appended at the end: ``line`` and ``reason``.

Every cell goes through ``connector.cells.safe_text``: an ERP description such as
``=HYPERLINK(...)`` arrives as inert text. The apostrophe it may add before ``= + - @`` is
dropped again when a report is read back, so values and SKUs round-trip exactly.
"""

from __future__ import annotations

import csv
import glob
import io
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from connector.cells import DANGEROUS_START, EXCEL_CELL_LIMIT, safe_text
from connector.errors import BadInputFile
from connector.fsutil import publish, timestamped_name
from connector.readers.columns import resolve_columns
from connector.readers.export import Export, RawSheet, Reject

REPORT_COLUMNS = ("line", "reason")


def write_rejects(
    outbox: Path, export: Export, rejects: list[Reject], when: datetime, key: str = ""
) -> Path:
    """Publish ``rejects-<source stem>-<YYYYmmdd-HHMMSS>[-<key>].csv|xlsx`` in ``outbox``.

    ``key`` (the source file's sha256) makes the report once per file content: a run killed
    after writing it, before the intake recorded the file as done, processes the file again
    and finds the report already there instead of writing a second one."""
    xlsx = export.source.kind == "xlsx"
    ext = ".xlsx" if xlsx else ".csv"
    tag = f"-{key[:12]}" if key else ""
    if tag:
        pattern = f"rejects-{glob.escape(export.path.stem)}-*{tag}{ext}"
        written = sorted(outbox.glob(pattern)) if outbox.is_dir() else []
        if written:
            return written[0]
    name = timestamped_name(f"rejects-{export.path.stem}", f"{tag}{ext}", when)

    def write(handle: BinaryIO) -> None:
        if xlsx:
            _write_xlsx(handle, export, rejects)
        else:
            _write_csv(handle, export, _sheet_rows(export, rejects, _sheets(export)[0]))

    return publish(outbox, name, write)


def _sheets(export: Export) -> list[RawSheet]:
    return list(export.sheets) or [_blank_sheet()]


def _sheet_rows(export: Export, rejects: list[Reject], sheet: RawSheet) -> Iterator[list[str]]:
    """One sheet's report rows, streamed: title rows, header, then each reject's row."""
    sheets = _sheets(export)
    known = {raw.name for raw in sheets}
    first = sheet is sheets[0]
    # A reject naming no known sheet (a caller's own) goes to the first sheet.
    mine = [r for r in rejects if r.sheet == sheet.name or (first and r.sheet not in known)]
    width = max(len(sheet.header), sheet.width)
    yield from (list(row) for row in sheet.preamble)
    if sheet.header:
        yield [*_pad(sheet.header, width), *REPORT_COLUMNS]
    # Rejects made by read_export carry their row; others are fetched in one bulk take.
    keys = sheet.keys
    carried = [list(r.original) == keys for r in mine]
    fetched = iter(sheet.rows([r.line for r, has in zip(mine, carried, strict=True) if not has]))
    for reject, has in zip(mine, carried, strict=True):
        cells = list(reject.original.values()) if has else next(fetched)
        cells = cells or _bare_row(export, sheet, reject, width)
        yield [*_pad(cells, width), str(reject.line), reject.reason]


def _bare_row(export: Export, sheet: RawSheet, reject: Reject, width: int) -> list[str]:
    """A reject with no source row (added by the caller): only its key (a SKU, an order
    reference) in the mapping's first column."""
    cells = [""] * width
    try:
        index = next(iter(resolve_columns(export.path, sheet, export.mapping).values()))
    except BadInputFile:  # a sheet without the columns (e.g. empty): the SKU has no place
        return cells
    if index < width:
        cells[index] = reject.sku
    return cells


def _pad(cells: list[str], width: int) -> list[str]:
    return cells if len(cells) >= width else [*cells, *[""] * (width - len(cells))]


def _safe(cell: str) -> str:
    """``safe_text``, skipped for the usual cell it would return unchanged (a report can
    hold a million rows; the full check costs several seconds there)."""
    if (
        cell.isprintable()
        and len(cell) <= EXCEL_CELL_LIMIT
        and not cell.startswith(DANGEROUS_START)
    ):
        return cell
    return safe_text(cell)


def _write_csv(handle: BinaryIO, export: Export, rows: Iterable[list[str]]) -> None:
    source = export.source
    encoding = source.encoding or "utf-8-sig"
    text = io.TextIOWrapper(handle, encoding=encoding, errors="replace", newline="")
    try:
        if source.sep_line:
            text.write(f"sep={source.delimiter}\r\n")
        writer = csv.writer(text, delimiter=source.delimiter or ";", lineterminator="\r\n")
        for row in rows:
            writer.writerow([_safe(cell) for cell in row])
        text.flush()
    finally:
        text.detach()  # publish() still owns and fsyncs the binary handle


def _write_xlsx(handle: BinaryIO, export: Export, rejects: list[Reject]) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    read = {raw.name: raw for raw in _sheets(export)}
    # Every sheet of the source, in order, so "sheets = 2" still points at the same sheet.
    for name in export.source.workbook_sheets or tuple(read):
        sheet = workbook.create_sheet(title=name)
        if name not in read:
            continue
        for row in _sheet_rows(export, rejects, read[name]):
            cells = []
            for value in row:
                cell = WriteOnlyCell(sheet, value=_safe(value))
                cell.number_format = "@"  # text: Excel keeps leading zeros when edited
                cells.append(cell)
            sheet.append(cells)
    workbook.save(handle)


def _blank_sheet() -> RawSheet:
    return RawSheet(
        name="", preamble=[], header=[], cells=pd.DataFrame(), lines=np.empty(0, dtype=np.int64)
    )
