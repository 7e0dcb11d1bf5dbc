"""CSV exports: encodings, delimiters, title rows, positions, line numbers, empty files."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.errors import BadInputFile
from connector.readers import read_export
from tests.reader_support import CP1252_MAPPING, basic, mapping, rows_of, write_text_file

HEADER = "Código;Descripción;Cantidad;Precio c/IVA;Costo"


def test_golden_cp1252_export_loads_exact_values(tmp_path: Path) -> None:
    path = write_text_file(
        tmp_path / "stock-golden.csv",
        [
            "Listado de stock al 12/03/2025;;;;",
            HEADER,
            "0001234;Ñandú azul;15;1.234,50;800",
            "0000007;Tornillo 3/8;1.200;12,3456;0,5",
            "9876543210123456789;Código largo;0;99.999,99;",
        ],
    )
    export = read_export(path, mapping(tmp_path, CP1252_MAPPING))
    assert export.rejects == []
    assert export.rows_read == 3
    assert export.fields == frozenset({"quantity", "price_with_taxes", "cost"})
    assert export.source.encoding == "cp1252" and export.source.delimiter == ";"
    assert rows_of(export.table) == [
        {
            "sku": "0001234",
            "brand": "",
            "quantity": 15,
            "price_e4": None,
            "price_with_taxes_e4": 12_345_000,
            "suggested_retail_price_e4": None,
            "cost_e4": 8_000_000,
            "line": 3,
            "sheet": "",
        },
        {
            "sku": "0000007",
            "brand": "",
            "quantity": 1200,
            "price_e4": None,
            "price_with_taxes_e4": 123_456,
            "suggested_retail_price_e4": None,
            "cost_e4": 5_000,
            "line": 4,
            "sheet": "",
        },
        {
            "sku": "9876543210123456789",
            "brand": "",
            "quantity": 0,
            "price_e4": None,
            "price_with_taxes_e4": 999_999_900,
            "suggested_retail_price_e4": None,
            "cost_e4": None,
            "line": 5,
            "sheet": "",
        },
    ]
    dtypes = {name: str(dtype) for name, dtype in export.table.dtypes.items()}
    assert dtypes["quantity"] == "Int64" and dtypes["cost_e4"] == "Int64"
    assert dtypes["line"] == "int64"
    assert export.original(3) == {
        "Código": "0001234",
        "Descripción": "Ñandú azul",
        "Cantidad": "15",
        "Precio c/IVA": "1.234,50",
        "Costo": "800",
    }
    assert export.original(99) == {}


def test_header_aliases_ignore_accents_case_spacing_and_punctuation(tmp_path: Path) -> None:
    aliases = basic(tmp_path, price_with_taxes='["Precio c/IVA", "Precio final"]')
    path = write_text_file(
        tmp_path / "stock.csv",
        ["  CÓDIGO ;cantidad;PRECIO-FINAL", "A-1;3;10"],
        encoding="utf-8",
    )
    export = read_export(path, aliases)
    assert rows_of(export.table)[0]["sku"] == "A-1"
    assert rows_of(export.table)[0]["price_with_taxes_e4"] == 100_000


def test_by_position_without_header(tmp_path: Path) -> None:
    positions = mapping(
        tmp_path,
        """
        kind = "products"
        files = ["*.txt"]
        header = false
        skip_rows = 1
        delimiter = "|"
        decimal = "."
        [columns]
        sku = 2
        quantity = 4
        price = 3
        """,
    )
    path = write_text_file(
        tmp_path / "export.txt", ["EXPORT 2025-03-12", "x|00A1|12.5|7", "y|00A2|3|0"]
    )
    export = read_export(path, positions)
    assert [(r["sku"], r["quantity"], r["price_e4"], r["line"]) for r in rows_of(export.table)] == [
        ("00A1", 7, 125_000, 2),
        ("00A2", 0, 30_000, 3),
    ]
    assert export.original(2) == {
        "column 1": "x",
        "column 2": "00A1",
        "column 3": "12.5",
        "column 4": "7",
    }


def test_sep_line_is_honoured_and_not_counted_for_header_row(tmp_path: Path) -> None:
    path = write_text_file(tmp_path / "stock.csv", ["sep=|", "SKU|Stock", "A;1|5"])
    export = read_export(path, basic(tmp_path))
    assert export.source.delimiter == "|" and export.source.sep_line
    assert [(r["sku"], r["quantity"], r["line"]) for r in rows_of(export.table)] == [("A;1", 5, 3)]


def test_utf8_bom_is_stripped_from_the_first_header(tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    path.write_bytes("\ufeffSKU;Stock\r\nÑ1;4\r\n".encode())
    export = read_export(path, basic(tmp_path))
    assert export.source.encoding == "utf-8-sig"
    assert rows_of(export.table)[0]["sku"] == "Ñ1"


def test_a_bom_wins_over_the_mapping_encoding(tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    path.write_bytes("\ufeffSKU;Stock\r\nÑ€1;4\r\n".encode())
    export = read_export(path, basic(tmp_path, extra='encoding = "cp1252"'))
    assert rows_of(export.table)[0]["sku"] == "Ñ€1"


def test_utf16_tab_separated_unicode_text(tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    path.write_bytes("SKU\tStock\tCosto\r\nÇ-€\t4\t1,5\r\n".encode("utf-16"))
    export = read_export(path, basic(tmp_path, cost='"Costo"'))
    assert export.source.encoding == "utf-16" and export.source.delimiter == "\t"
    assert [(r["sku"], r["cost_e4"]) for r in rows_of(export.table)] == [("Ç-€", 15_000)]


def test_explicit_utf16_without_bom(tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    path.write_bytes("SKU;Stock\r\nÑ1;4\r\n".encode("utf-16-le"))
    export = read_export(path, basic(tmp_path, extra='encoding = "utf-16-le"'))
    assert [(r["sku"], r["quantity"]) for r in rows_of(export.table)] == [("Ñ1", 4)]


def test_auto_encoding_falls_back_to_cp1252(tmp_path: Path) -> None:
    path = write_text_file(tmp_path / "stock.csv", ["Título", "SKU;Stock", "Ñandú;1"])
    export = read_export(path, basic(tmp_path, header_row=2))
    assert export.source.encoding == "cp1252"
    assert rows_of(export.table)[0]["sku"] == "Ñandú"


def test_explicit_encoding_that_does_not_fit_is_a_bad_file(tmp_path: Path) -> None:
    utf8 = basic(tmp_path, header_row=2, extra='encoding = "utf-8"')
    path = write_text_file(tmp_path / "stock.csv", ["t", "SKU;Stock", "A;1", "Ñandú;1"])
    with pytest.raises(
        BadInputFile, match=r"written in UTF-8, but line 4 holds a byte that is not"
    ):
        read_export(path, utf8)


def test_comma_file_with_point_decimals_is_sniffed(tmp_path: Path) -> None:
    text = (
        CP1252_MAPPING.replace('decimal = ","', 'decimal = "."')
        .replace('thousands = "."', 'thousands = ","')
        .replace('cost = ["Costo"]', "")
    )
    path = write_text_file(
        tmp_path / "stock.csv",
        ["Exported", "SKU,Stock,Precio final", 'A,1,"1,234.5"', "B,2,7.25"],
        newline="\n",
    )
    export = read_export(path, mapping(tmp_path, text))
    assert export.source.delimiter == ","
    prices = [r["price_with_taxes_e4"] for r in rows_of(export.table)]
    assert prices == [12_345_000, 72_500]


def test_line_numbers_survive_blank_lines_lone_cr_and_trailing_empties(tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    body = "Título\r\nSKU;Stock\r\nA;1\r\n\r\nB;2\rC;3\n\n;;\r\n\r\n   \r\n"
    path.write_bytes(body.encode("cp1252"))
    export = read_export(path, basic(tmp_path, header_row=2))
    assert [(r["sku"], r["line"]) for r in rows_of(export.table)] == [
        ("A", 3),
        ("B", 5),
        ("C", 6),
    ]
    assert export.rejects == []


def test_quoted_value_across_lines_keeps_true_line_numbers(tmp_path: Path) -> None:
    path = write_text_file(
        tmp_path / "stock.csv",
        ["Título", "SKU;Descripción;Stock", 'A;"dos\r\nlíneas";1', "B;x;2", "C;y;-1"],
    )
    export = read_export(path, basic(tmp_path, header_row=2))
    assert [(r["sku"], r["line"]) for r in rows_of(export.table)] == [("A", 3), ("B", 5)]
    assert [(r.line, r.sku) for r in export.rejects] == [(6, "C")]
    assert export.original(3)["Descripción"] == "dos\r\nlíneas"


def test_rows_wider_than_the_header_are_rejected_not_shifted(tmp_path: Path) -> None:
    path = write_text_file(
        tmp_path / "stock.csv", ["Título", "SKU;Stock;Precio final", "A;1;5", "B;2;1;5", "C;3"]
    )
    export = read_export(path, basic(tmp_path, header_row=2, price_with_taxes='"Precio final"'))
    assert [r["sku"] for r in rows_of(export.table)] == ["A"]
    reasons = {r.sku: r.reason for r in export.rejects}
    assert reasons["B"].startswith("the line has 4 fields but the header has 3")
    assert reasons["C"] == "price with taxes is empty"


@pytest.mark.parametrize(
    "content",
    [b"", b"\r\n\r\n", "Título\r\n".encode("cp1252"), "Título\r\nSKU;Stock\r\n\r\n".encode()],
)
def test_empty_and_header_only_files_are_no_data(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "stock.csv"
    path.write_bytes(content)
    export = read_export(path, mapping(tmp_path, CP1252_MAPPING))
    assert len(export.table) == 0 and export.rejects == [] and export.rows_read == 0
    assert list(export.table.columns)[:3] == ["sku", "brand", "quantity"]


def test_missing_column_names_it_and_lists_the_headers_found(tmp_path: Path) -> None:
    path = write_text_file(
        tmp_path / "stock.csv", ["Título", "Código;Descripción;Cantidad", "A;x;1"]
    )
    text = CP1252_MAPPING.replace('quantity = ["Stock", "Cantidad"]', 'quantity = "Stock"')
    with pytest.raises(BadInputFile) as caught:
        read_export(path, mapping(tmp_path, text))
    message = str(caught.value)
    assert "column 'Stock' not found" in message
    assert message.endswith("the file has: Código, Descripción, Cantidad")
    assert caught.value.hint


def test_header_appearing_twice_is_refused(tmp_path: Path) -> None:
    path = write_text_file(tmp_path / "stock.csv", ["SKU;Stock;stock", "A;1;2"])
    with pytest.raises(BadInputFile, match="appears more than once"):
        read_export(path, basic(tmp_path))


def test_position_beyond_the_last_column_is_a_bad_file(tmp_path: Path) -> None:
    positions = mapping(
        tmp_path,
        """
        kind = "products"
        files = ["*.csv"]
        header = false
        [columns]
        sku = 1
        quantity = 9
        """,
    )
    path = write_text_file(tmp_path / "stock.csv", ["A;1", "B;2"])
    with pytest.raises(BadInputFile, match="column 9 not found; the file has: 2 columns"):
        read_export(path, positions)
