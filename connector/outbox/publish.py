"""Outbox files that accountants open in Excel: orders, order lines, cancellations.

Every call publishes a *new* file, ``<kind>-YYYYmmdd-HHMMSS.csv`` (or ``.xlsx``), through
``connector.fsutil.publish``: temp name, fsync, then a fresh final name (``-2``, ``-3`` ... when
two writes fall in the same second). An existing file is never replaced: Excel may hold it open.

CSV, as Excel expects it:
- UTF-8 with a BOM (Excel reads UTF-8 only with one; ``bom = false`` for other consumers);
- delimiter and decimal mark by locale: es-AR and pt-BR ``;`` and ``,``; en-US ``,`` and ``.``;
  no thousands separator; RFC 4180 quoting (csv.QUOTE_MINIMAL); CRLF line ends;
- text cells cleaned and neutralised (``connector.cells.safe_text``): newlines become a
  space,
  control characters go, and a cell starting with ``= + - @``, tab, CR or LF gets a leading
  ``'``. Only numbers the connector formats itself may start with ``-``;
- SKUs and ids are written with every digit (``0012345``, 19-digit ids). Excel's double-click
  open still turns them into numbers (dropping leading zeros, rounding past 15 digits); the file
  is right, so use the XLSX format, or Data > From Text/CSV with the column typed as Text. The
  ``="0012345"`` trick is not used: it is a formula, which this outbox never writes;
- the header must not start with ``ID`` (Excel takes such a file for SYLK): it becomes ``Id``.

XLSX (``format = "xlsx"``, see ``connector.outbox.xlsx``): text cells typed as strings (never a
formula), numbers as numbers, dates as dates.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Literal

from connector.cells import safe_text
from connector.config import OutboxSettings
from connector.fsutil import publish, timestamped_name
from connector.outbox.typed import Cell, Date, Number, Text
from connector.outbox.xlsx import write_xlsx

OutboxKind = Literal["orders", "order-lines", "cancellations"]
KINDS: tuple[str, ...] = ("orders", "order-lines", "cancellations")

# locale -> (CSV delimiter, decimal mark): what Excel uses with that Windows regional setting
LOCALES: dict[str, tuple[str, str]] = {
    "es-AR": (";", ","),
    "pt-BR": (";", ","),
    "en-US": (",", "."),
}


def write_outbox(
    folder: Path,
    kind: str,
    header: list[str],
    rows: Sequence[Sequence[Cell]],
    *,
    settings: OutboxSettings,
    when: datetime,
) -> Path:
    """Publish one new outbox file and return its final path (never an existing name)."""
    if kind not in KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}: use one of {', '.join(KINDS)}")
    _check_shape(header, rows)
    header = sylk_safe(header)
    if settings.format == "xlsx":
        name = timestamped_name(kind, ".xlsx", when)
        return publish(folder, name, lambda handle: write_xlsx(handle, kind, header, rows))
    name = timestamped_name(kind, ".csv", when)
    return publish(folder, name, lambda handle: write_csv(handle, header, rows, settings))


def write_csv(
    handle: BinaryIO, header: list[str], rows: Sequence[Sequence[Cell]], settings: OutboxSettings
) -> None:
    delimiter, decimal_mark = LOCALES[settings.locale]
    # errors="replace": a lone surrogate from the API's JSON becomes "?" instead of a crash
    text = io.TextIOWrapper(
        handle, encoding="utf-8-sig" if settings.bom else "utf-8", errors="replace", newline=""
    )
    writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([safe_text(name) for name in header])
    for row in rows:
        writer.writerow([csv_text(cell, decimal_mark) for cell in row])
    text.flush()
    text.detach()  # publish() owns the handle: it fsyncs and closes it


def csv_text(cell: Cell, decimal_mark: str) -> str:
    """The text of one CSV cell; only a Number may start with ``-``."""
    match cell:
        case Number():
            return cell.render(decimal_mark)
        case Date():
            return safe_text(cell.render())
        case Text():
            return safe_text(cell.value)


def sylk_safe(header: list[str]) -> list[str]:
    """Excel opens a file that starts with ``ID`` as SYLK and fails: write ``Id`` instead."""
    if header and header[0].startswith("ID"):
        return ["Id" + header[0][2:], *header[1:]]
    return list(header)


def _check_shape(header: list[str], rows: Sequence[Sequence[Cell]]) -> None:
    # A ragged row would shift every cell after it into the wrong column: refuse it loudly.
    if not header:
        raise ValueError("an outbox file needs at least one column")
    for number, row in enumerate(rows, start=1):
        if len(row) != len(header):
            raise ValueError(f"row {number} has {len(row)} cells for {len(header)} columns")
