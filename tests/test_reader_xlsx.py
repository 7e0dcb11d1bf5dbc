"""XLSX exports: warehouse sheets, combine rules, SKUs stored as numbers, formulas."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from connector.errors import BadInputFile
from connector.readers import read_export
from tests.reader_support import (
    WAREHOUSE_MAPPING,
    mapping,
    rewrite_part,
    rows_of,
    write_workbook,
)

CENTRAL = "Depósito Central"
NORTE = "Depósito Norte"


def _warehouses(path: Path, central: list[list[object]], norte: list[list[object]]) -> Path:
    return write_workbook(  # "=..." cells are real formulas here, as Excel would store them
        path,
        {
            CENTRAL: [
                ["Stock central al 12/03"],
                ["Código", "Descripción", "Stock", "Precio"],
                *central,
            ],
            NORTE: [["Stock norte"], ["codigo", "descripcion", "CANTIDAD", "precio"], *norte],
            "Notas": [["nada que leer"]],
        },
        formulas=True,
    )


def test_two_warehouse_sheets_sum_stock_and_keep_text_skus(tmp_path: Path) -> None:
    path = _warehouses(
        tmp_path / "stock.xlsx",
        [["0001234", "Ñandú", 5, 1234.5], ["0000099", "Solo central", 2, "10,25"]],
        [["0001234", "Ñandú", 7, "1.234,50"], ["0000100", "Solo norte", 0, 3]],
    )
    export = read_export(path, mapping(tmp_path, WAREHOUSE_MAPPING))
    assert export.rejects == []
    assert export.source.kind == "xlsx"
    assert export.source.workbook_sheets == (CENTRAL, NORTE, "Notas")
    assert [
        (row["sku"], row["quantity"], row["price_e4"], row["line"], row["sheet"])
        for row in rows_of(export.table)
    ] == [
        ("0001234", 12, 12_345_000, 3, CENTRAL),
        ("0000099", 2, 102_500, 4, CENTRAL),
        ("0000100", 0, 30_000, 4, NORTE),
    ]
    assert export.source_rows("0001234") == [(3, CENTRAL), (3, NORTE)]
    assert export.original(3, NORTE) == {
        "codigo": "0001234",
        "descripcion": "Ñandú",
        "CANTIDAD": "7",
        "precio": "1.234,50",
    }


def test_sum_rejects_a_sku_whose_prices_differ_between_sheets(tmp_path: Path) -> None:
    path = _warehouses(tmp_path / "stock.xlsx", [["A", "x", 1, 10]], [["A", "x", 1, 11]])
    export = read_export(path, mapping(tmp_path, WAREHOUSE_MAPPING))
    assert len(export.table) == 0
    assert [(r.sheet, r.line) for r in export.rejects] == [(CENTRAL, 3), (NORTE, 3)]
    assert export.rejects[0].reason == (
        f"price differs between sheets '{CENTRAL}' and '{NORTE}'; "
        "every sheet must show the same price"
    )


def test_sum_rejects_the_whole_sku_when_one_sheet_row_is_bad(tmp_path: Path) -> None:
    path = _warehouses(tmp_path / "stock.xlsx", [["A", "x", 5, 10]], [["A", "x", -2, 10]])
    export = read_export(path, mapping(tmp_path, WAREHOUSE_MAPPING))
    assert len(export.table) == 0
    reasons = {r.sheet: r.reason for r in export.rejects}
    assert reasons[NORTE] == "stock '-2' is negative; Alephee takes 0 or more"
    assert reasons[CENTRAL].startswith(
        f"another row of this SKU was rejected (sheet '{NORTE}', row 3)"
    )


def test_first_takes_each_sku_from_the_first_sheet_that_has_it(tmp_path: Path) -> None:
    text = WAREHOUSE_MAPPING.replace('combine = "sum"', 'combine = "first"')
    path = _warehouses(
        tmp_path / "stock.xlsx",
        [["A", "x", 5, 10], ["B", "x", "mal", 10]],
        [["A", "x", 9, 99], ["B", "x", 3, 10], ["C", "x", 1, 1]],
    )
    export = read_export(path, mapping(tmp_path, text))
    assert [(r["sku"], r["quantity"], r["sheet"]) for r in rows_of(export.table)] == [
        ("A", 5, CENTRAL),
        ("C", 1, NORTE),
    ]
    assert [(r.sku, r.sheet) for r in export.rejects] == [("B", CENTRAL)]


@pytest.mark.parametrize(("sheets", "expected"), [("2", ["N1"]), ('"*"', ["C1", "N1"])])
def test_sheets_by_index_and_all_visible(tmp_path: Path, sheets: str, expected: list[str]) -> None:
    workbook = Workbook()
    for title in ("C", "N", "Oculta"):
        sheet = workbook.create_sheet(title)
        for row in (["t"], ["SKU", "Stock", "Precio"], [f"{title[0]}1", 1, 1]):
            sheet.append(row)
    del workbook["Sheet"]
    workbook["Oculta"].sheet_state = "hidden"
    hide = tmp_path / "stock.xlsx"
    workbook.save(hide)
    text = WAREHOUSE_MAPPING.replace(f'sheets = ["{CENTRAL}", "{NORTE}"]', f"sheets = {sheets}")
    export = read_export(hide, mapping(tmp_path, text))
    assert [row["sku"] for row in rows_of(export.table)] == expected


def test_a_missing_sheet_names_the_sheets_found(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "stock.xlsx", {"Hoja1": [["SKU", "Stock", "Precio"]]})
    with pytest.raises(BadInputFile) as caught:
        read_export(path, mapping(tmp_path, WAREHOUSE_MAPPING))
    assert str(caught.value) == (
        f"stock.xlsx: sheet '{CENTRAL}' not found; the workbook has: 'Hoja1'"
    )


def test_sku_stored_as_number_is_recovered_or_rejected(tmp_path: Path) -> None:
    path = _warehouses(
        tmp_path / "stock.xlsx",
        [[12345.0, "x", 1, 1], [1.23e19, "x", 1, 1], [12.5, "x", 1, 1], [2**53 + 2, "x", 1, 1]],
        [],
    )
    export = read_export(path, mapping(tmp_path, WAREHOUSE_MAPPING))
    assert [row["sku"] for row in rows_of(export.table)] == ["12345"]
    hint = "stored as a number in Excel; format the column as Text and type the codes again"
    assert [(r.line, r.reason) for r in export.rejects] == [
        (4, f"SKU 1,23e+19 {hint}"),
        (5, f"SKU 12,5 {hint}"),
        (6, f"SKU 9,00719925474099e+15 {hint}"),
    ]


def test_numbers_from_formulas_read_as_excel_shows_them(tmp_path: Path) -> None:
    path = _warehouses(tmp_path / "stock.xlsx", [["A", "x", 3.0, 1234.5 * 1.21]], [])
    export = read_export(path, mapping(tmp_path, WAREHOUSE_MAPPING))
    assert rows_of(export.table)[0]["price_e4"] == 14_937_450
    assert rows_of(export.table)[0]["quantity"] == 3


def test_formula_without_saved_result_rejects_the_row_naming_the_column(tmp_path: Path) -> None:
    path = _warehouses(
        tmp_path / "stock.xlsx", [["A", "x", "=2+3", 10], ["B", "x", 4, "=SUM(D3:D3)"]], []
    )
    export = read_export(path, mapping(tmp_path, WAREHOUSE_MAPPING))
    assert len(export.table) == 0
    reasons = {r.sku: r.reason for r in export.rejects}
    assert reasons["A"].startswith(
        "column 'Stock' holds a formula with no saved result; open the file in Excel"
    )
    assert reasons["B"].startswith("column 'Precio' holds a formula with no saved result")


def test_formula_with_saved_result_is_read(tmp_path: Path) -> None:
    source = _warehouses(tmp_path / "plain.xlsx", [["A", "x", 5, 10]], [])
    # Excel keeps a formula's last result in <v>: that value is what the operator sees.
    cached = rewrite_part(
        source,
        tmp_path / "stock.xlsx",
        "xl/worksheets/sheet1.xml",
        lambda data: data.replace(b'<c r="C3" t="n"><v>5</v>', b'<c r="C3"><f>2+3</f><v>5</v>'),
    )
    export = read_export(cached, mapping(tmp_path, WAREHOUSE_MAPPING))
    assert export.rejects == []
    assert rows_of(export.table)[0]["quantity"] == 5


def test_empty_and_header_only_workbooks_are_no_data(tmp_path: Path) -> None:
    header_only = _warehouses(tmp_path / "stock.xlsx", [], [])
    export = read_export(header_only, mapping(tmp_path, WAREHOUSE_MAPPING))
    assert len(export.table) == 0 and export.rejects == [] and export.rows_read == 0
    empty = write_workbook(tmp_path / "empty.xlsx", {CENTRAL: [], NORTE: []})
    export = read_export(empty, mapping(tmp_path, WAREHOUSE_MAPPING))
    assert len(export.table) == 0 and export.rejects == []


def test_missing_column_in_one_sheet_names_the_sheet(tmp_path: Path) -> None:
    path = write_workbook(
        tmp_path / "stock.xlsx",
        {
            CENTRAL: [["t"], ["SKU", "Stock", "Precio"], ["A", 1, 1]],
            NORTE: [["t"], ["SKU", "Existencia", "Precio"], ["A", 1, 1]],
        },
    )
    with pytest.raises(BadInputFile) as caught:
        read_export(path, mapping(tmp_path, WAREHOUSE_MAPPING))
    assert str(caught.value) == (
        f"stock.xlsx, sheet '{NORTE}': column 'Stock' / 'Cantidad' not found; "
        "the file has: SKU, Existencia, Precio"
    )


def test_a_table_placed_away_from_a1_keeps_excel_row_numbers(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = CENTRAL
    sheet["C3"], sheet["D3"], sheet["E3"] = "SKU", "Stock", "Precio"
    sheet["C4"], sheet["D4"], sheet["E4"] = "A", 5, 2
    sheet["C6"], sheet["D6"], sheet["E6"] = "B", 1, 3
    workbook.save(tmp_path / "stock.xlsx")
    text = WAREHOUSE_MAPPING.replace("header_row = 2", "header_row = 3").replace(f', "{NORTE}"', "")
    export = read_export(tmp_path / "stock.xlsx", mapping(tmp_path, text))
    assert [(row["sku"], row["line"]) for row in rows_of(export.table)] == [("A", 4), ("B", 6)]
