"""The XLSX outbox: text cells never become formulas, ids stay text, numbers stay numbers."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from connector.config import OutboxSettings
from connector.outbox.publish import write_outbox
from connector.outbox.typed import Cell, Date, Number, Text
from connector.outbox.xlsx import excel_date_format
from tests.outbox_support import (
    BUENOS_AIRES,
    HOSTILE_EXPECTED,
    HOSTILE_NAMES,
    LONG_ID,
    read_csv,
)

WHEN = datetime(2025, 1, 31, 14, 5, 9, tzinfo=BUENOS_AIRES)
XLSX = OutboxSettings(format="xlsx")
HEADER = ["Pedido", "Cliente", "SKU", "Importe", "Fecha", "Grande"]
MOMENT = datetime(2025, 1, 31, 14, 5, tzinfo=BUENOS_AIRES)


def rows() -> list[list[Cell]]:
    return [
        [
            Text(LONG_ID),
            Text(name),
            Text("0012345"),
            Number(Decimal("-1234.56"), 2),
            Date(MOMENT, "%d/%m/%Y %H:%M"),
            Number(Decimal(LONG_ID)),
        ]
        for name in [*HOSTILE_NAMES, "{=1+1}", '=1+2";=1+2']
    ]


def sheet_cells(path: Path) -> list[list[Any]]:
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.active
    assert sheet is not None
    return [list(row) for row in sheet.iter_rows()]


def test_xlsx_has_no_formula_and_keeps_types(tmp_path: Path) -> None:
    path = write_outbox(tmp_path, "orders", ["ID", *HEADER[1:]], rows(), settings=XLSX, when=WHEN)
    assert path.name == "orders-20250131-140509.xlsx"
    with zipfile.ZipFile(path) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml
    cells = sheet_cells(path)
    assert [cell.value for cell in cells[0]] == ["Id", *HEADER[1:]]
    assert all(cell.data_type != "f" for row in cells for cell in row)
    body = cells[1:]
    # the CSV text without its neutralising apostrophe: a typed text cell never runs
    expected_names = [n.removeprefix("'") for n in [*HOSTILE_EXPECTED, "{=1+1}", '=1+2";=1+2']]
    assert [row[1].value for row in body] == expected_names
    for row in body:
        assert row[0].data_type == "s" and row[0].value == LONG_ID
        assert row[2].data_type == "s" and row[2].value == "0012345"
        assert row[3].data_type == "n" and row[3].value == pytest.approx(-1234.56)
        assert row[3].number_format == "0.00"
        assert row[4].is_date and row[4].value == datetime(2025, 1, 31, 14, 5)
        assert row[4].number_format == "dd/mm/yyyy hh:mm"
        assert row[5].data_type == "s" and row[5].value == LONG_ID  # 19 digits: text


def test_xlsx_names_never_collide(tmp_path: Path) -> None:
    first = write_outbox(tmp_path, "cancellations", ["A"], [], settings=XLSX, when=WHEN)
    second = write_outbox(tmp_path, "cancellations", ["A"], [], settings=XLSX, when=WHEN)
    assert first != second and first.exists() and second.exists()


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("%d/%m/%Y %H:%M", "dd/mm/yyyy hh:mm"),
        ("%Y-%m-%d", "yyyy-mm-dd"),
        ("%d.%m.%y %H:%M:%S", "dd.mm.yy hh:mm:ss"),
        ("%d de %m", 'dd" de "mm'),
        ("%M", None),  # minutes without hours would read as a month in Excel
        ("%d %b", None),  # no translation: written as text
    ],
)
def test_excel_date_formats(pattern: str, expected: str | None) -> None:
    assert excel_date_format(pattern) == expected


def test_untranslatable_date_pattern_is_written_as_text(tmp_path: Path) -> None:
    cell: list[list[Cell]] = [[Date(MOMENT, "%d %b %Y")]]
    path = write_outbox(tmp_path, "orders", ["Fecha"], cell, settings=XLSX, when=WHEN)
    (value,) = sheet_cells(path)[1]
    assert value.data_type == "s" and value.value == "31 Jan 2025"


OFFICE = shutil.which("libreoffice") or shutil.which("soffice")


@pytest.mark.slow
@pytest.mark.skipif(OFFICE is None, reason="LibreOffice (libreoffice/soffice) is not installed")
def test_libreoffice_opens_the_csv_without_formulas(tmp_path: Path) -> None:
    settings = OutboxSettings(locale="en-US")  # LibreOffice's default import: comma, dot
    csv_rows = [row[:4] for row in rows()]
    path = write_outbox(tmp_path, "orders", HEADER[:4], csv_rows, settings=settings, when=WHEN)
    assert len(read_csv(path, ",")) == len(csv_rows) + 1
    out = tmp_path / "converted"
    subprocess.run(
        [
            str(OFFICE),
            "--headless",
            "--infilter=CSV:44,34,76,1",  # comma, double quote, UTF-8, from line 1
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(path),
        ],
        check=True,
        timeout=120,
        capture_output=True,
    )
    cells = sheet_cells(out / (path.stem + ".xlsx"))
    assert all(cell.data_type != "f" for row in cells for cell in row)
    assert cells[1][3].value == pytest.approx(-1234.56)
