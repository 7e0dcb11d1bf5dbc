"""The XLSX outbox writer (openpyxl): every cell typed explicitly, no formula ever.

openpyxl turns any string that starts with ``=`` into a live formula (``data_type == "f"``), so
every text cell is set back to a string (``data_type = "s"``) after its value is assigned. Text
is cleaned as in CSV (``clean_text``: no control characters, nothing XML 1.0 cannot hold) but
gets no leading apostrophe: a typed text cell cannot run a formula, and accountants would read
``'+54 11 ...`` as data.
Numbers with more than 15 significant digits are written as text: Excel would round them.
Dates are real Excel dates with the mapping's pattern translated to an Excel number format;
a pattern with no Excel equivalent is written as text in that pattern.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, BinaryIO

from connector.cells import clean_text
from connector.outbox.typed import Cell, Date, Number, Text, significant_digits

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell as SheetCell

EXCEL_DIGITS = 15
# strftime directive -> Excel number-format code; anything else falls back to text
_DATE_CODES = {"d": "dd", "m": "mm", "Y": "yyyy", "y": "yy", "H": "hh", "M": "mm", "S": "ss"}
_DIRECTIVE = re.compile(r"%(.)")


def write_xlsx(
    handle: BinaryIO, kind: str, header: list[str], rows: Sequence[Sequence[Cell]]
) -> None:
    # openpyxl is imported here, not above: only an XLSX outbox needs it (0.2 s to import)
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)  # streams rows: a large cycle stays small in memory
    sheet = workbook.create_sheet(kind[:31])
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    titles = [_text(WriteOnlyCell(sheet), name) for name in header]
    for title in titles:
        title.font = bold
    sheet.append(titles)
    for row in rows:
        sheet.append([_put(WriteOnlyCell(sheet), cell) for cell in row])
    workbook.save(handle)


def _put(target: SheetCell, cell: Cell) -> SheetCell:
    match cell:
        case Number() if significant_digits(cell.value) <= EXCEL_DIGITS:
            _number(target, cell)
        case Number():
            _text(target, cell.render("."))
        case Date():
            excel_format = excel_date_format(cell.pattern)
            if excel_format is None:
                _text(target, cell.render())
            else:
                # Excel has no time zones: the local wall-clock time is what accountants expect
                target.value = cell.value.replace(tzinfo=None)
                target.number_format = excel_format
        case Text():
            _text(target, cell.value)
    return target


def _number(target: SheetCell, cell: Number) -> None:
    value = Decimal(cell.render("."))  # the same rounding as the CSV file
    if value == value.to_integral_value() and not cell.decimals:
        target.value = int(value)
        target.number_format = "0"
    else:
        target.value = value
        target.number_format = "0." + "0" * cell.decimals if cell.decimals else "General"


def _text(target: SheetCell, text: str) -> SheetCell:
    target.value = clean_text(text)  # no lone surrogate or U+FFFF left: well-formed XML
    target.data_type = "s"  # after the value: openpyxl typed "=..." as a formula
    return target


def excel_date_format(pattern: str) -> str | None:
    """``%d/%m/%Y %H:%M`` -> ``dd/mm/yyyy hh:mm``; None when Excel cannot say it the same way."""
    out: list[str] = []
    position = 0
    for match in _DIRECTIVE.finditer(pattern):
        out.append(_literal(pattern[position : match.start()]))
        code = _DATE_CODES.get(match.group(1))
        # Excel reads "mm" as minutes only right after hours; elsewhere it means the month
        if code is None or (match.group(1) == "M" and not pattern[: match.start()].endswith("%H:")):
            return None
        out.append(code)
        position = match.end()
    out.append(_literal(pattern[position:]))
    return "".join(out)


def _literal(text: str) -> str:
    if not text:
        return ""
    if all(char in " /-:.,_" for char in text):
        return text
    return '"' + text.replace('"', "") + '"'
